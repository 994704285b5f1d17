import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { buffer } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import { digestOf } from "../oci/digest.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { streamOf } from "../testing/layer-tar.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { diffDirectories } from "./diff.js";
import { packDirectory } from "./pack.js";
import { readTar } from "./tar-reader.js";

async function entryNames(tar: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(streamOf(tar)))
    out.push(`${e.header.type === "link" ? "link:" : ""}${e.header.name}`);
  return out;
}

describe("diffDirectories", () => {
  let work: string;
  before(async () => {
    work = await makeTempDir("pier-layer-diff-");
    const lower = `${work}/lower`;
    mkdirSync(`${lower}/keep/deep`, { recursive: true });
    writeFileSync(`${lower}/keep/same`, "same");
    writeFileSync(`${lower}/keep/changed`, "v1");
    writeFileSync(`${lower}/keep/deep/gone`, "bye");
    mkdirSync(`${lower}/gone-dir/sub`, { recursive: true });
    writeFileSync(`${lower}/gone-dir/sub/f`, "f");
    mkdirSync(`${lower}/refill`);
    writeFileSync(`${lower}/refill/old1`, "1");
    writeFileSync(`${lower}/refill/old2`, "2");
    mkdirSync(`${lower}/dir-to-file`);
    writeFileSync(`${lower}/dir-to-file/x`, "x");
    writeFileSync(`${lower}/mode`, "m");
    for (const p of ["keep/same", "keep/changed", "mode"]) utimesSync(`${lower}/${p}`, 1e9, 1e9);
    execFileSync("cp", ["-a", lower, `${work}/upper`]);
    const upper = `${work}/upper`;
    writeFileSync(`${upper}/keep/changed`, "v2");
    rmSync(`${upper}/keep/deep/gone`);
    rmSync(`${upper}/gone-dir`, { recursive: true });
    rmSync(`${upper}/refill`, { recursive: true });
    mkdirSync(`${upper}/refill`);
    writeFileSync(`${upper}/refill/new`, "n");
    rmSync(`${upper}/dir-to-file`, { recursive: true });
    writeFileSync(`${upper}/dir-to-file`, "now a file");
    chmodSync(`${upper}/mode`, 0o600);
    writeFileSync(`${upper}/added`, "a");
    linkSync(`${upper}/added`, `${upper}/added-link`);
  });
  after(async () => {
    await removeTempDir(work);
  });

  it("emits changes, topmost whiteouts and opaque markers, sorted", async () => {
    const tar = await buffer(await diffDirectories(`${work}/lower`, `${work}/upper`));
    const names = await entryNames(tar);
    assert.deepEqual(
      names,
      [
        ".wh.gone-dir",
        "added",
        "link:added-link",
        "dir-to-file",
        "keep",
        "keep/changed",
        "keep/deep",
        "keep/deep/.wh.gone",
        "mode",
        "refill",
        "refill/.wh..wh..opq",
        "refill/new",
      ].sort((a, b) =>
        Buffer.compare(Buffer.from(a.replace("link:", "")), Buffer.from(b.replace("link:", ""))),
      ),
    );
    const again = await buffer(await diffDirectories(`${work}/lower`, `${work}/upper`));
    assert.equal(digestOf(again), digestOf(tar));
  });

  it("lower layer + diff layer applied reproduce the upper tree", async () => {
    const dst = `${work}/applied`;
    mkdirSync(dst);
    await applyLayer(dst, await packDirectory(`${work}/lower`));
    await applyLayer(dst, await diffDirectories(`${work}/lower`, `${work}/upper`));
    assert.deepEqual(snapshotTree(dst), snapshotTree(`${work}/upper`));
  });
});
