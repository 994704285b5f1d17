/**
 * The CRIU version check with the real CRIU: asked once per executable file (a resident process
 * dumps many times), asked again once that file changed.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkpointTestSkip } from "../../testing/runtime-criu.js";
import { checkCriuVersion, findCriu, MIN_CRIU_MAJOR } from "./criu-path.js";

const skip = await checkpointTestSkip("criu-path_test");

describe("checkCriuVersion", { skip }, () => {
  let dir = "";
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("asks a criu once, and again once its file changed", async () => {
    dir = await mkdtemp(join(tmpdir(), "pier-criu-version-"));
    const asked = join(dir, "asked");
    writeFileSync(asked, "");
    // The real criu behind a wrapper that counts its starts.
    const wrapper = join(dir, "criu");
    const script = `#!/bin/sh\necho started >> ${asked}\nexec ${findCriu(undefined, process.env)} "$@"\n`;
    writeFileSync(wrapper, script, { mode: 0o755 });
    const starts = () => readFileSync(asked, "utf8").split("\n").filter(Boolean).length;

    const first = await checkCriuVersion(wrapper);
    assert.ok(first.major >= MIN_CRIU_MAJOR, JSON.stringify(first));
    assert.equal(starts(), 1);
    assert.deepEqual(await checkCriuVersion(wrapper), first);
    assert.equal(starts(), 1, "the second check started criu again");

    // Another file at the same path (a CRIU update) is asked again.
    writeFileSync(wrapper, `${script}# updated\n`, { mode: 0o755 });
    assert.deepEqual(await checkCriuVersion(wrapper), first);
    assert.equal(starts(), 2);
  });
});
