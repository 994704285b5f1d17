/**
 * What CRIU must be told about a container's mounts and namespaces, as runc tells it: bind
 * mounts, masked files (bind mounts of /dev/null) and device nodes are external mounts (dumped
 * as key → key, restored as key → the host source); network and pid namespaces joined by path are
 * external namespaces (`extRootNetNS`, `extRootPidNS`), the others are joined again by path.
 */
import { readFileSync, statSync } from "node:fs";
import { posix } from "node:path";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { CriuError } from "./criu-error.js";

/** CRIU's (and the kernel's /proc/PID/ns) name of an OCI namespace type. */
export function nsName(type: string): string {
  return type === "network" ? "net" : type === "mount" ? "mnt" : type;
}

/** The key runc uses for an external namespace of `type` (net, pid). */
export function externalNsKey(type: string): string {
  const n = nsName(type);
  return `extRoot${n.charAt(0).toUpperCase()}${n.slice(1)}NS`;
}

function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/** A container path as CRIU sees it: absolute, clean. */
function cleanDest(dest: string): string {
  return posix.normalize(posix.join("/", dest));
}

/** The external mounts of a dump: every bind mount and device by its destination; masked files → /dev/null. */
export function dumpExtMounts(spec: Spec, initPid: number): { key: string; val: string }[] {
  const out: { key: string; val: string }[] = [];
  for (const m of spec.mounts ?? []) {
    if (isBind(m)) out.push({ key: cleanDest(m.destination), val: cleanDest(m.destination) });
  }
  for (const path of spec.linux?.maskedPaths ?? []) {
    const st = statSync(`/proc/${initPid}/root${cleanDest(path)}`, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue; // directories are masked by a read-only tmpfs, dumped as such
    out.push({ key: cleanDest(path), val: "/dev/null" });
  }
  for (const d of spec.linux?.devices ?? []) out.push({ key: cleanDest(d.path), val: cleanDest(d.path) });
  return out;
}

/** The external mounts of a restore: each bind mount's destination → its host source. */
export function restoreExtMounts(spec: Spec, bundle: string): { key: string; val: string }[] {
  const out: { key: string; val: string }[] = [];
  for (const m of spec.mounts ?? []) {
    if (!isBind(m)) continue;
    if (!m.source)
      throw new CriuError("INVALID_ARGUMENT", `mount ${m.destination}: a bind mount without source`);
    out.push({ key: cleanDest(m.destination), val: posix.resolve(bundle, m.source) });
  }
  if ((spec.linux?.maskedPaths ?? []).length > 0) out.push({ key: "/dev/null", val: "/dev/null" });
  for (const d of spec.linux?.devices ?? []) out.push({ key: cleanDest(d.path), val: cleanDest(d.path) });
  return out;
}

/** `--external net[INODE]:extRootNetNS` (and pid) for namespaces the container joined by path. */
export function dumpExternalNamespaces(spec: Spec): string[] {
  const out: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path || (ns.type !== "network" && ns.type !== "pid")) continue;
    const st = statSync(ns.path, { throwIfNoEntry: false });
    if (!st) throw new CriuError("INVALID_ARGUMENT", `namespace ${ns.type}: ${ns.path} does not exist`);
    out.push(`${nsName(ns.type)}[${st.ino}]:${externalNsKey(ns.type)}`);
  }
  return out;
}

/** Mount points of cgroup v1 hierarchies in a process's mount namespace (its mountinfo). */
export function cgroupV1MountPoints(pid: number): string[] {
  const out: string[] = [];
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (fstype === "cgroup") out.push(unescapeMountinfo(line.slice(0, sep).split(" ")[4] ?? ""));
  }
  return out.filter(Boolean);
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * On a cgroup v1 host without a cgroup namespace, each hierarchy inside the container is a bind
 * mount of the container's own cgroup directory (as runc's getCgroupMounts): on restore, the
 * mount `<cgroup mount destination>/<hierarchy>` maps to the new container's directory in it.
 */
export function restoreCgroupV1Mounts(
  spec: Spec,
  cgroupPath: string,
  dirs: readonly string[],
): { key: string; val: string }[] {
  const cgMount = (spec.mounts ?? []).find((m) => m.type === "cgroup");
  if (!cgMount || (spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup")) return [];
  const out: { key: string; val: string }[] = [];
  for (const dir of dirs) {
    if (!dir.endsWith(cgroupPath)) continue;
    const hierarchy = dir.slice(0, dir.length - cgroupPath.length);
    if (!hierarchy.startsWith("/sys/fs/cgroup/")) continue;
    out.push({ key: posix.join(cleanDest(cgMount.destination), posix.basename(hierarchy)), val: dir });
  }
  return out;
}

/** criu's cg_root entries: where `pid` (criu itself, placed in the container's cgroup) lives. */
export function cgroupRoots(pid: number): { ctrl?: string; path: string }[] {
  const out: { ctrl?: string; path: string }[] = [];
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const ctrl = (m[1] ?? "").replace(/^name=/, "");
    out.push({ ...(ctrl ? { ctrl } : {}), path: m[2] ?? "/" });
  }
  return out;
}
