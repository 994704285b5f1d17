import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultRuntimeSpec, formatSpec } from "./default-spec.js";

for (const rootless of [false, true]) {
  test(`defaultRuntimeSpec({rootless: ${rootless}}) is byte-identical to runc spec${rootless ? " --rootless" : ""}`, async () => {
    const runc = "/usr/sbin/runc";
    assert.ok(existsSync(runc), "runc is missing: apt-get install -y runc");
    const dir = await mkdtemp(join(tmpdir(), "pier-spec-"));
    try {
      execFileSync(runc, ["spec", ...(rootless ? ["--rootless"] : [])], { cwd: dir });
      const expected = readFileSync(join(dir, "config.json"), "utf8");
      assert.equal(formatSpec(defaultRuntimeSpec({ rootless })), expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
