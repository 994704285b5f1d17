import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultRegistryConfig } from "../registry/config.js";
import { type RunningRegistry, startRegistry } from "../registry/server.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";

const PIER = join(dirname(fileURLToPath(import.meta.url)), "pier.js");

/** Runs the pier CLI asynchronously (the registry serves from this process meanwhile). */
function pier(
  root: string,
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PIER, "--root", root, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("pier push / pull / tags / manifest inspect against pier's registry", () => {
  let tmp: string;
  let reg: RunningRegistry;

  before(async () => {
    tmp = await makeTempDir();
    await writeBusyboxRootfs(join(tmp, "rootfs"));
    reg = await startRegistry(
      {
        ...defaultRegistryConfig(),
        addr: "127.0.0.1:0",
        root: join(tmp, "registry"),
        log: { access: false },
      },
      { log: () => {} },
    );
  });
  after(async () => {
    await reg.close();
    await removeTempDir(tmp);
  });

  it("round-trips an image with the same digest, plain progress lines when not a terminal", async () => {
    const root = join(tmp, "store");
    const ref = `${reg.host}/demo/busybox:1`;
    let r = await pier(root, "image", "create", join(tmp, "rootfs"), "--tag", ref);
    assert.equal(r.status, 0, r.stderr);
    r = await pier(root, "push", ref);
    assert.equal(r.status, 0, r.stderr);
    const pushed = /Digest: (sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];
    assert.ok(pushed, r.stdout);
    assert.match(r.stderr, /: Pushed/);
    // Pull into another, empty store: every blob is downloaded and verified.
    const other = join(tmp, "store-pull");
    r = await pier(other, "pull", ref);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(/Digest: (sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1], pushed);
    assert.match(r.stderr, /: Pull complete/);
    assert.match((await pier(other, "image", "ls")).stdout, new RegExp(`${reg.host}/demo/busybox\\s+1`));
    r = await pier(root, "tags", `${reg.host}/demo/busybox`, "--format", "json");
    assert.deepEqual(JSON.parse(r.stdout), ["1"]);
    r = await pier(root, "manifest", "inspect", "--raw", ref);
    assert.match(r.stdout, /"schemaVersion":2/);
  });

  it("fails clearly for an unknown repository (exit 3) and an unreachable registry", async () => {
    const root = join(tmp, "store2");
    let r = await pier(root, "pull", `${reg.host}/nope/nothing:1`);
    assert.equal(r.status, 3, r.stderr);
    r = await pier(root, "pull", "127.0.0.1:1/x:1");
    assert.equal(r.status, 1);
    assert.ok(r.stderr.length > 0);
    assert.equal((await pier(root, "image", "ls", "-q")).stdout, "");
  });
});
