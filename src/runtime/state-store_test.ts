/**
 * The state store's removal: the common case (only state.json left) and a directory with more
 * in it (a paused marker, the fifo of a never-started container, anything else) both end with
 * the directory gone; a missing one is success.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { StateStore } from "./state-store.js";

test("remove takes the state directory whatever is left in it", async () => {
  const root = mkdtempSync(join(tmpdir(), "pier-state-"));
  try {
    const store = new StateStore(root);
    const plain = await store.claim("plain");
    writeFileSync(join(plain, "state.json"), "{}");
    await store.remove("plain");
    assert.equal(existsSync(plain), false);

    const full = await store.claim("full");
    writeFileSync(join(full, "state.json"), "{}");
    writeFileSync(join(full, "paused"), "");
    execFileSync("mkfifo", [store.fifoPath("full")]);
    mkdirSync(join(full, "extra", "deeper"), { recursive: true });
    await store.remove("full");
    assert.equal(existsSync(full), false);

    await store.remove("never-was");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
