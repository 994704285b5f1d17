/**
 * Which `linux.sysctl` entries a container may set, and the file under `/proc/sys` each one is.
 *
 * `/proc/sys` is only partly namespaced: most keys are the host's, whoever writes them
 * (`kernel.core_pattern` names a program the host's root runs). So a container may set only the
 * keys that belong to a namespace it has of its own, with runc's rules
 * (libcontainer/configs/validate `sysctl`): the System V IPC limits and `fs.mqueue.*` with an ipc
 * namespace, `net.*` with a network namespace that is not the runtime's own, `kernel.domainname`
 * with a uts namespace; `kernel.hostname` conflicts with the spec's `hostname` field. Anything
 * else is refused at `create`, naming the key.
 *
 * One deliberate difference: runc accepts the ipc and uts keys whenever the config lists the
 * namespace, even joined by a path that is the runtime's own namespace (the host's); pier checks
 * that path as runc does for `net.*`, since writing there would change the host's value.
 */
import type { Namespace, NamespaceType } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";

/** The System V IPC keys that an ipc namespace holds (runc's list); `fs.mqueue.*` join them. */
const IPC_KEYS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

/** One sysctl to write: its key in dotted form and its path relative to `/proc/sys`. */
export interface SysctlWrite {
  /** The key as sysctl(8) prints it, e.g. `net.ipv4.conf.eth0/100.rp_filter`. */
  name: string;
  /** The file below `/proc/sys`, e.g. `net/ipv4/conf/eth0.100/rp_filter`. */
  path: string;
  value: string;
}

function refuse(problem: string): never {
  throw new RuntimeError("INVALID_CONFIG", `linux.sysctl: ${problem}`);
}

/**
 * A key in the dotted form and its file below `/proc/sys`. As sysctl(8) and runc: when the
 * first separator is `/`, `/` separates and `.` is part of a name (`net/ipv4/conf/eth0.100/x`);
 * otherwise `.` separates and `/` stands for a `.` in a name (`net.ipv4.conf.eth0/100.x`). A
 * key whose file would not be a plain path below `/proc/sys` (empty parts, `.`, `..`) is refused.
 */
export function sysctlName(key: string): { name: string; path: string } {
  const first = key.search(/[./]/);
  const swap = (s: string) => s.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
  const name = first >= 0 && key[first] === "/" ? swap(key) : key;
  const parts = name.split(".").map((p) => p.replaceAll("/", "."));
  if (key.includes("\0") || parts.some((p) => p === "" || p === "." || p === ".."))
    refuse(`invalid sysctl name ${JSON.stringify(key)}`);
  return { name, path: parts.join("/") };
}

/**
 * Checks every `linux.sysctl` entry against the container's namespaces (module comment) and
 * returns the writes in config order. `isRuntimeNamespace(path, type)` tells whether a namespace
 * joined by path is the runtime's own (the host's); without it, a path counts as another one.
 * Throws `INVALID_CONFIG` naming the first key refused.
 */
export function planSysctls(
  sysctl: Readonly<Record<string, string>> | undefined,
  namespaces: readonly Namespace[],
  isRuntimeNamespace?: (path: string, type: NamespaceType) => boolean,
): SysctlWrite[] {
  const own = (type: NamespaceType): boolean => {
    const ns = namespaces.find((n) => n.type === type);
    if (!ns) return false;
    return !ns.path || !isRuntimeNamespace?.(ns.path, type);
  };
  const out: SysctlWrite[] = [];
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    const { name, path } = sysctlName(key);
    if (IPC_KEYS.has(name) || name.startsWith("fs.mqueue.")) {
      if (!own("ipc")) refuse(`sysctl ${JSON.stringify(name)} is not allowed in the host's ipc namespace`);
    } else if (name.startsWith("net.")) {
      if (!own("network"))
        refuse(`sysctl ${JSON.stringify(name)} is not allowed in the host's network namespace`);
    } else if (name === "kernel.domainname" && own("uts")) {
      // Namespaced; the spec's `domainname` field sets the same value, and runc allows both.
    } else if (name === "kernel.hostname" && own("uts")) {
      refuse(`sysctl ${JSON.stringify(name)} is not allowed as it conflicts with the OCI "hostname" field`);
    } else {
      refuse(`sysctl ${JSON.stringify(name)} is not in a separate kernel namespace`);
    }
    out.push({ name, path, value });
  }
  return out;
}
