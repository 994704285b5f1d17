import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { loadCniConfig, parseCniConfig } from "./cni-config-dir.js";

test("the first CNI config in lexical order is the pod network; non-configs are skipped; a .conf is a list of one", async () => {
  const dir = await makeTempDir("pier-cni-dir-");
  try {
    assert.match((loadCniConfig(join(dir, "none")) as { missing: string }).missing, /cannot read/);
    assert.match((loadCniConfig(dir) as { missing: string }).missing, /no network config found in /);
    writeFileSync(
      join(dir, "99-last.conflist"),
      JSON.stringify({ name: "last", plugins: [{ type: "bridge" }] }),
    );
    writeFileSync(join(dir, "05-broken.conflist"), "{not json");
    writeFileSync(join(dir, "06-notes.txt"), "{}");
    mkdirSync(join(dir, "07-dir.conflist"));
    writeFileSync(
      join(dir, "08-bad-type.conflist"),
      JSON.stringify({ name: "x", plugins: [{ type: "../sh" }] }),
    );
    const last = loadCniConfig(dir);
    assert.ok("conflist" in last && last.conflist.name === "last" && last.conflist.cniVersion === "0.4.0");
    writeFileSync(
      join(dir, "10-one.conf"),
      JSON.stringify({ cniVersion: "1.0.0", name: "one", type: "ptp" }),
    );
    const one = loadCniConfig(dir);
    assert.ok("conflist" in one);
    assert.equal(one.file, join(dir, "10-one.conf"));
    assert.deepEqual(one.conflist.plugins, [{ cniVersion: "1.0.0", name: "one", type: "ptp" }]);
    assert.equal(parseCniConfig(JSON.stringify({ name: "n", plugins: [] }), false), undefined);
  } finally {
    await removeTempDir(dir);
  }
});
