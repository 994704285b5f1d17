/**
 * Before CRIU restores a container's mounts, their mount points must exist in the rootfs, as
 * runc's prepareCriuRestoreMounts makes them: a fresh rootfs (`podman container restore
 * --import`) lacks the files podman bind-mounts (/etc/resolv.conf, /run/.containerenv, ...).
 * Paths resolve inside the rootfs, symlinks included, never outside it.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readlinkSync, statSync } from "node:fs";
import { dirname, posix, resolve } from "node:path";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { CriuError } from "./criu-error.js";

const MAX_LINKS = 255;

/** `unsafe` (a container path) resolved under `root`, following symlinks as if `root` were `/`. */
export function secureJoin(root: string, unsafe: string): string {
  const parts = unsafe.split("/").filter((p) => p && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift() as string;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = posix.join(root, ...done, part);
    const st = lstatSync(candidate, { throwIfNoEntry: false });
    if (!st?.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS)
      throw new CriuError("INVALID_ARGUMENT", `${unsafe}: too many levels of symbolic links`);
    const target = readlinkSync(candidate);
    if (target.startsWith("/")) done.length = 0;
    parts.unshift(...target.split("/").filter((p) => p && p !== "."));
  }
  return posix.join(root, ...done);
}

function under(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path.startsWith(`${p.replace(/\/$/, "")}/`));
}

/** Creates every missing mount point of `spec` in `rootfs` (not those CRIU restores in a tmpfs). */
export function prepareRestoreMountpoints(spec: Spec, rootfs: string, bundle: string): void {
  const mounts = spec.mounts ?? [];
  const tmpfs = mounts.filter((m) => m.type === "tmpfs").map((m) => posix.normalize(m.destination));
  for (const m of mounts) {
    const dest = posix.normalize(posix.join("/", m.destination));
    if (m.type === "cgroup" || under(dest, tmpfs)) continue;
    const target = secureJoin(rootfs, dest);
    if (lstatSync(target, { throwIfNoEntry: false })) continue;
    const bind = m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
    const srcIsDir =
      !bind ||
      !m.source ||
      statSync(resolve(bundle, m.source), { throwIfNoEntry: false })?.isDirectory() !== false;
    try {
      if (srcIsDir) mkdirSync(target, { recursive: true, mode: 0o755 });
      else {
        mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
        closeSync(openSync(target, "wx", 0o644));
      }
    } catch (err) {
      throw new CriuError("INVALID_ARGUMENT", `mount point ${dest}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
