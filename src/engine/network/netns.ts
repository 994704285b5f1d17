/**
 * Persistent network namespaces, as `ip netns add` makes them: a new namespace kept alive by a
 * bind mount of its nsfs file onto a regular file, so plugins and the runtime can join it by
 * path and it outlives every process in it until it is unmounted.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { NetworkError } from "./error.js";

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

/** Decodes the octal escapes mountinfo uses for spaces and the like. */
function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Every mount point of this process's mount namespace (from mountinfo). */
export function mountPoints(): string[] {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => unescapeMount(l.split(" ")[4] ?? ""))
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** True when something is mounted on `path`. */
export function isMountPoint(path: string): boolean {
  return mountPoints().includes(path);
}

/**
 * Creates a new network namespace bound at `path` (util-linux `unshare --net=FILE`, which forks
 * the helper that unshares while its parent bind-mounts the namespace file) with `lo` up (the
 * same process runs `ip link set lo up` in it: one process instead of a loopback plugin run).
 * Throws `NETNS_FAILED`; a failure leaves no file behind.
 */
export async function createNetns(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (isMountPoint(path)) throw new NetworkError("NETNS_FAILED", `network namespace ${path} already exists`);
  await writeFile(path, "", { mode: 0o400 });
  let r: { code: number | null; stderr: string };
  try {
    r = await run("unshare", [`--net=${path}`, "ip", "link", "set", "lo", "up"]);
  } catch (err) {
    await rm(path, { force: true });
    throw new NetworkError(
      "NETNS_FAILED",
      `cannot run unshare (util-linux) and ip (iproute2): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (r.code !== 0) {
    if (isMountPoint(path)) await run("umount", [path]).catch(() => {});
    await rm(path, { force: true });
    throw new NetworkError("NETNS_FAILED", `cannot create network namespace ${path}: ${r.stderr}`);
  }
}

/**
 * Unmounts and deletes a namespace made by {@link createNetns}; the namespace itself goes once
 * no process is left in it. Absent or already unmounted is fine. Throws `NETNS_FAILED`.
 */
export async function removeNetns(path: string): Promise<void> {
  if (isMountPoint(path)) {
    const r = await run("umount", [path]);
    if (r.code !== 0 && isMountPoint(path)) {
      const lazy = await run("umount", ["-l", path]);
      if (lazy.code !== 0)
        throw new NetworkError("NETNS_FAILED", `cannot unmount network namespace ${path}: ${r.stderr}`);
    }
  }
  await rm(path, { force: true });
}
