/**
 * Which bind mounts may cover something under `/proc`: runc's rule (libcontainer `checkProcMount`).
 * A bind mount over a procfs path (`/proc/sys`, `/proc/self/attr/…`) would hide or replace what
 * the kernel shows the container, and its masks with it; only the files that lxcfs emulates may
 * be covered. Whether a destination is inside /proc is known only once its symlinks resolve, in
 * the container's mount namespace: the plan marks the bind mounts that pier-init must refuse
 * there (`noproc`), all but these.
 */

/** The `/proc` files a bind mount may cover (runc's list, what lxcfs provides), relative to `/`. */
const PROC_BIND_ALLOWED: ReadonlySet<string> = new Set([
  "proc/cpuinfo",
  "proc/diskstats",
  "proc/meminfo",
  "proc/stat",
  "proc/swaps",
  "proc/uptime",
  "proc/loadavg",
  "proc/slabinfo",
  "proc/net/dev",
  "proc/sys/kernel/ns_last_pid",
]);

/** The guard argument of a bind mount's op at `dest` (relative, normalized): `["noproc"]` or none. */
export function procBindGuard(dest: string): [] | ["noproc"] {
  return PROC_BIND_ALLOWED.has(dest) ? [] : ["noproc"];
}
