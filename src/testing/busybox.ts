/**
 * Test fixtures shared by every layer's tests: a small root filesystem made from Debian's
 * `busybox-static`, built locally (no network). Not part of the library API.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian's busybox-static installs the binary. */
export const BUSYBOX_PATH = "/bin/busybox";

/** Throws with an actionable message when busybox-static is missing. */
export function requireBusybox(): string {
  if (!existsSync(BUSYBOX_PATH)) {
    throw new Error(
      `${BUSYBOX_PATH} is missing: install Debian's busybox-static (apt-get install -y busybox-static)`,
    );
  }
  return BUSYBOX_PATH;
}

/** The applet names the installed busybox provides. */
export function busyboxApplets(): string[] {
  const out = execFileSync(requireBusybox(), ["--list"], { encoding: "utf8" });
  return out.split("\n").filter((a) => a && a !== "busybox");
}

/**
 * Writes a busybox root filesystem into `dir` (created if needed): `/bin/busybox`, one symlink
 * per applet in `/bin`, `/etc/passwd` and `/etc/group` with root, a `user` (1000) and nobody,
 * and the usual empty mount points.
 */
export async function writeBusyboxRootfs(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  await copyFile(requireBusybox(), join(bin, "busybox"));
  await chmod(join(bin, "busybox"), 0o755);
  for (const applet of busyboxApplets()) {
    const link = join(bin, applet);
    if (!existsSync(link)) await symlink("busybox", link);
  }
  for (const d of ["etc", "proc", "sys", "dev", "tmp", "root", "home/user", "var", "run"]) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await chmod(join(dir, "tmp"), 0o1777);
  await writeFile(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  );
  await writeFile(join(dir, "etc/group"), "root:x:0:\nwheel:x:10:user\nuser:x:1000:\nnogroup:x:65534:\n");
  return dir;
}

/** A fresh temporary directory; remove it with {@link removeTempDir}. */
export async function makeTempDir(prefix = "pier-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory tree, ignoring absence. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
