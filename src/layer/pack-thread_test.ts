import assert from "node:assert/strict";
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { LayerError } from "./error.js";
import { packDirectory } from "./pack.js";
import { packPath } from "./pack-path.js";
import { packStream } from "./pack-thread.js";
import { readTar } from "./tar-reader.js";

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function names(r: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(r)) {
    out.push(e.header.type === "link" ? `${e.header.name} => ${e.header.linkname}` : e.header.name);
    if (e.chunks) for await (const _ of e.chunks) void _;
  }
  return out;
}

describe("packStream and packPath", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-pack-thread-");
    mkdirSync(`${dir}/tree/sub`, { recursive: true });
    writeFileSync(`${dir}/tree/a`, "a".repeat(3 << 20));
    linkSync(`${dir}/tree/a`, `${dir}/tree/sub/hard`);
    symlinkSync("/etc/passwd", `${dir}/tree/link`);
    writeFileSync(`${dir}/tree/sub/b`, "b");
  });
  after(() => removeTempDir(dir));

  it("streams from the worker exactly what packDirectory gives", async () => {
    const direct = await bytes(await packDirectory(`${dir}/tree`, { xattrs: false, mtime: 1 }));
    const threaded = packStream({
      kind: "directory",
      root: `${dir}/tree`,
      options: { xattrs: false, mtime: 1 },
    });
    assert.ok(direct.equals(await bytes(threaded)));
  });

  it("names a directory's entries under the given name, `./x` for `.`, hard links too", async () => {
    const o = { xattrs: false };
    assert.deepEqual(await names(await packPath(`${dir}/tree`, "tree", o)), [
      "tree",
      "tree/a",
      "tree/link",
      "tree/sub",
      "tree/sub/b",
      "tree/sub/hard => tree/a",
    ]);
    assert.deepEqual((await names(await packPath(`${dir}/tree`, ".", o))).slice(0, 2), [".", "./a"]);
    assert.deepEqual(await names(await packPath(`${dir}/tree/sub/b`, "renamed", o)), ["renamed"]);
    // A symlink is the link itself, never followed.
    assert.deepEqual(await names(await packPath(`${dir}/tree/link`, "link", o)), ["link"]);
  });

  it("fails the stream with the pack's LayerError; destroying it ends the worker", async () => {
    const missing = packStream({ kind: "path", path: `${dir}/nope`, name: "nope", options: {} });
    await assert.rejects(
      bytes(missing),
      (err: unknown) => err instanceof LayerError && /does not exist/.test((err as Error).message),
    );
    const big = packStream({ kind: "directory", root: `${dir}/tree`, options: { xattrs: false } });
    await new Promise((r) => big.once("data", r));
    big.destroy();
    await new Promise((r) => big.once("close", r));
    assert.ok(big.destroyed);
  });
});
