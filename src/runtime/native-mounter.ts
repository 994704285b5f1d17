/**
 * mount(2), umount2(2) and persistent network namespaces for long-lived processes (pierd), through one `pier-init --mounter`
 * child that stays up: Node.js has no mount call, and a `mount` process per container cost more
 * than the rest of a container start. Requests are answered in order; paths come from the caller
 * and must not contain tabs or newlines (the wire format's separators).
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, statfsSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import { dirname } from "node:path";
import { parseMountInfo } from "./cgroups/mountinfo.js";
import { RuntimeError } from "./error.js";
import { spawnResidentHelper } from "./helper.js";

/** umount2 flag: detach now, clean up when no longer busy. */
export const MNT_DETACH = 2;

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  what: string;
}

let child: ChildProcess | undefined;
const pending: Pending[] = [];
let buffered = "";

function mounter(): ChildProcess {
  if (child && child.exitCode === null && !child.killed) return child;
  const c = spawnResidentHelper("--mounter");
  c.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const p = pending.shift();
      if (pending.length === 0) holdOpen(c, false);
      if (!p) continue;
      if (line === "ok") p.resolve();
      else p.reject(new RuntimeError("HELPER_FAILED", `${p.what}: ${line.replace(/^error /, "")}`));
    }
  });
  const fail = (why: string) => {
    if (child === c) child = undefined;
    buffered = "";
    for (const p of pending.splice(0)) p.reject(new RuntimeError("HELPER_FAILED", `${p.what}: ${why}`));
  };
  c.on("error", (e) => fail(`cannot run the mount helper: ${e.message}`));
  c.on("exit", () => fail("the mount helper exited"));
  child = c;
  return c;
}

function holdOpen(c: ChildProcess, ref: boolean): void {
  const out = c.stdout as unknown as Socket | null;
  if (ref) out?.ref();
  else out?.unref();
}

function request(fields: string[], what: string): Promise<void> {
  for (const f of fields)
    if (/[\t\n]/.test(f))
      return Promise.reject(
        new RuntimeError("INVALID_ARGUMENT", `${what}: tab or newline in ${JSON.stringify(f)}`),
      );
  const c = mounter();
  return new Promise<void>((resolve, reject) => {
    pending.push({ resolve, reject, what });
    holdOpen(c, true);
    c.stdin?.write(`${fields.join("\t")}\n`);
  });
}

/** mount(2): `flags` are MS_* bits, `data` the file system's options. */
export function nativeMount(
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string,
): Promise<void> {
  return request(["mount", source, target, fstype, String(flags), data], `mount ${fstype} on ${target}`);
}

/** umount2(2) with `flags` (e.g. {@link MNT_DETACH}). */
export function nativeUnmount(target: string, flags = 0): Promise<void> {
  return request(["umount", target, String(flags)], `umount ${target}`);
}

/**
 * A new network namespace with its loopback up, kept by a bind mount on `target` (an existing
 * empty file): `unshare --net=TARGET ip link set lo up` without starting two processes.
 */
export function nativeNetns(target: string): Promise<void> {
  return request(["netns", target], `network namespace ${target}`);
}

/** Every mount point of this process's mount namespace; empty when mountinfo cannot be read. */
export function mountPoints(): string[] {
  try {
    return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).map((m) => m.mountPoint);
  } catch {
    return [];
  }
}

/** True when something is mounted on `path`. */
export function isMountPoint(path: string): boolean {
  return mountPoints().includes(path);
}

/** statfs(2) `f_type` of the file systems {@link isMountedAs} is asked about. */
export const FS_MAGIC = { overlay: 0x794c7630, nsfs: 0x6e736673 } as const;

/**
 * True when a file system of type `magic` ({@link FS_MAGIC}) is mounted on `path`: its type is
 * that and its device is not its directory's. Two stat calls where {@link isMountPoint} reads
 * and parses the whole mount table (which grows with every container); for mounts of another
 * file system than the one they sit on, such as an overlay root or a namespace file.
 */
export function isMountedAs(path: string, magic: number): boolean {
  try {
    return statfsSync(path).type === magic && statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}
