/**
 * Test support (not library API): a test-private podman (Debian's 4.3) whose `--runtime` is
 * pier-runtime, with its own storage, run root and a busybox image imported offline.
 */
import { execFileSync, type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { writeBusyboxRootfs } from "./busybox.js";
import type { CommandResult } from "./engine.js";
import { pierRuntimeCommand, requireTool } from "./runtime.js";

/** The busybox image every podman fixture has. */
export const PODMAN_IMAGE = "localhost/pier-busybox:test";

/**
 * The sandbox that runs the tests lacks CAP_SYS_RESOURCE, so podman's default rlimits (nofile
 * 1048576) cannot be set by any runtime (crun fails the same way): ask for reachable ones.
 */
export const PODMAN_ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

/** A podman bound to pier-runtime under `dir`. */
export interface PodmanFixture {
  /** Runs `podman ARGS` (global flags added). */
  pm(...args: string[]): SpawnSyncReturns<string>;
  /** Removes every container and the storage (the caller removes `dir`). */
  dispose(): void;
}

/** Who runs podman, for rootless podman: a user, and its environment (XDG_RUNTIME_DIR, HOME). */
export interface PodmanUser {
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/**
 * Sets up podman in `dir` (an empty directory, which `user` must be able to write when given)
 * with pier-runtime as its runtime.
 */
export async function podmanWithPier(dir: string, user?: PodmanUser): Promise<PodmanFixture> {
  const podman = requireTool("podman", "podman");
  const wrapper = join(dir, "pier-runtime");
  const [cmd, pre] = pierRuntimeCommand([]);
  writeFileSync(wrapper, `#!/bin/sh\nexec ${[cmd, ...pre].join(" ")} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const globals = [
    "--root",
    join(dir, "storage"),
    "--runroot",
    join(dir, "run"),
    // libpod's own state (/run/libpod by default) private too: another podman's
    // `system reset` there made this one lose its containers, which then ran on
    "--tmpdir",
    join(dir, "tmp"),
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
    "--runtime",
    wrapper,
  ];
  const rootfs = await writeBusyboxRootfs(join(dir, "rootfs"));
  execFileSync("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
  const as = user ? { uid: user.uid, gid: user.gid, env: user.env, cwd: dir } : {};
  execFileSync(podman, [...globals, "import", join(dir, "rootfs.tar"), PODMAN_IMAGE], {
    stdio: "ignore",
    ...as,
  });
  return {
    pm: (...args) => spawnSync(podman, [...globals, ...args], { encoding: "utf8", timeout: 120000, ...as }),
    dispose() {
      spawnSync(podman, [...globals, "rm", "--all", "--force", "--time", "0"], { stdio: "ignore", ...as });
      spawnSync(podman, [...globals, "system", "reset", "--force"], { stdio: "ignore", ...as });
    },
  };
}

/** What {@link usePodmanWithRunc} gives a test block. */
export interface PodmanRuncFixture {
  /**
   * `podman --runtime runc run --rm` with {@link PODMAN_ULIMITS}, `args`, the busybox image and
   * `sh -c script`: the peer a test compares pierd's container with.
   */
  run(args: readonly string[], script: string): CommandResult;
}

/**
 * Registers, in the calling `describe` block, a podman fixture in a temp directory of its own
 * (set up before the block's tests, disposed and removed after them) and returns how to run
 * busybox under it with runc.
 */
export function usePodmanWithRunc(): PodmanRuncFixture {
  let dir: string | undefined;
  let fixture: PodmanFixture | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pier-podman-runc-"));
    fixture = await podmanWithPier(dir);
  });
  after(() => {
    fixture?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    run(args, script) {
      if (!fixture)
        throw new Error("usePodmanWithRunc: the podman fixture is not set up (used outside its block?)");
      const r = fixture.pm(
        "--runtime",
        "runc",
        "run",
        "--rm",
        ...PODMAN_ULIMITS,
        ...args,
        PODMAN_IMAGE,
        "sh",
        "-c",
        script,
      );
      return { status: r.status, signal: null, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
