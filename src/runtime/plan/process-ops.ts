/**
 * Plan ops for the process part of a config (shared by create and exec): rlimits, user and
 * groups, the five capability sets, no_new_privs, seccomp, cwd, environment and argv. Pure.
 */
import type { Process } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";
import { CAPABILITIES, RLIMITS } from "./linux-constants.js";
import { op, type PlanOp } from "./ops.js";

/** A compiled seccomp filter ready for the helper (bytes of `struct sock_filter[]`). */
export interface SeccompProgram {
  flags: number;
  bpf: Uint8Array;
  /** `listenerPath`: set only when a rule uses SCMP_ACT_NOTIFY. */
  listenerPath?: string;
  /** `listenerMetadata`, passed to the agent as `metadata`. */
  listenerMetadata?: string;
}

/** Result of {@link capabilityMask}: the mask and the names the kernel does not know. */
export interface CapabilityMask {
  mask: bigint;
  unknown: string[];
}

/**
 * Bit mask of capability names. A name Linux does not define is refused (`INVALID_CONFIG` naming
 * `field`): config-linux.md, "any value which cannot be mapped to a relevant kernel interface
 * MUST cause an error". One this kernel is too old for (above `lastCap`) is reported in
 * `unknown` and left out, as runc does, so that configs naming new capabilities run everywhere.
 */
export function capabilityMask(
  names: readonly string[] | undefined,
  lastCap: number,
  field = "process.capabilities",
): CapabilityMask {
  let mask = 0n;
  const unknown: string[] = [];
  for (const [i, name] of (names ?? []).entries()) {
    const n = CAPABILITIES[name];
    if (n === undefined)
      throw new RuntimeError("INVALID_CONFIG", `${field}[${i}]: unknown capability ${JSON.stringify(name)}`);
    if (n > lastCap) unknown.push(name);
    else mask |= 1n << BigInt(n);
  }
  return { mask, unknown };
}

// <sys/personality.h>: PER_LINUX and PER_LINUX32.
const PERSONALITY_DOMAINS = { LINUX: 0x0000, LINUX32: 0x0008 } as const;

/** Where the process ops start and what they need to know about the host and the namespaces. */
export interface ProcessOpsInput {
  process: Process;
  lastCap: number;
  /** When true, setgroups(2) is denied in the user namespace: skip it. */
  setgroupsDenied: boolean;
  seccomp?: SeccompProgram;
  /** `linux.personality.domain` to set before any filter (init process only, as runc). */
  personality?: "LINUX" | "LINUX32";
}

/**
 * What {@link processOps} returns, in the order the helper runs the parts. The seccomp filter is
 * placed as runc places it (libcontainer/standard_init_linux.go, setns_init_linux.go):
 *
 * - with `noNewPrivileges`: `prepare` (no_new_privs set there), `finalize` (bounding set, user,
 *   cwd, capabilities), create's ready point, its wait for `start` and the startContainer hooks,
 *   then `exec`: the filter is loaded right before execve, and execve is the only syscall the
 *   helper makes under it.
 * - without: loading a filter needs CAP_SYS_ADMIN, so it comes first in `finalize` (after
 *   create's ready point), before the bounding set, user and capabilities are dropped; the
 *   profile must then allow what follows (prctl, setgroups, setresgid/setresuid, capset, chdir,
 *   create's fifo open/write/close, the startContainer hooks, execve), exactly as under runc.
 *
 * pier-init's own housekeeping that runc does later (marking fds close-on-exec, the SIGPIPE
 * reset, the check that the cwd is inside the container) runs in `prepare`, before any filter,
 * so a profile never has to allow close_range, rt_sigaction or getcwd for pier's sake.
 */
export interface ProcessOps {
  /** rlimits (run while still privileged, so hard limits can be raised). */
  rlimits: PlanOp[];
  /** Environment, HOME, umask, personality, fds close-on-exec, the cwd entered and verified as
   * root, no_new_privs: nothing here runs under a filter. */
  prepare: PlanOp[];
  /** [seccomp without no_new_privs], bounding set, user, cwd, capabilities. */
  finalize: PlanOp[];
  /** [seccomp with no_new_privs], execve. */
  exec: PlanOp[];
  warnings: string[];
}

/** Plans the process setup. Throws `INVALID_CONFIG` for an unknown rlimit or missing args. */
export function processOps(input: ProcessOpsInput): ProcessOps {
  const p = input.process;
  const warnings: string[] = [];
  const rlimits: PlanOp[] = [];
  for (const [i, r] of (p.rlimits ?? []).entries()) {
    const n = RLIMITS[r.type];
    if (n === undefined)
      throw new RuntimeError(
        "INVALID_CONFIG",
        `process.rlimits[${i}].type: unknown rlimit ${JSON.stringify(r.type)}`,
      );
    rlimits.push(op("rlimit", n, limitString(r.soft), limitString(r.hard)));
  }
  const [file, ...argv] = p.args ?? [];
  if (file === undefined) throw new RuntimeError("INVALID_CONFIG", "process.args: must not be empty");
  const caps = p.capabilities ?? {};
  const mask = (set: keyof typeof caps) =>
    capabilityMask(caps[set], input.lastCap, `process.capabilities.${set}`);
  const sets = {
    bounding: mask("bounding"),
    effective: mask("effective"),
    permitted: mask("permitted"),
    inheritable: mask("inheritable"),
    ambient: mask("ambient"),
  };
  for (const [set, m] of Object.entries(sets)) {
    for (const name of m.unknown)
      warnings.push(`process.capabilities.${set}: ${name} is not known to this kernel; ignored`);
  }
  const prepare: PlanOp[] = [
    op("env", ...(p.env ?? [])),
    op("home", p.user.uid),
    op("umask", p.user.umask ?? 0o022),
  ];
  if (input.personality) prepare.push(op("personality", PERSONALITY_DOMAINS[input.personality]));
  prepare.push(op("cloexec"), op("cwd", p.cwd));
  if (p.noNewPrivileges) prepare.push(op("nnp"));
  const seccompOp = input.seccomp
    ? // The listener socket was connected earlier (create's seccompmsg op), before pivot_root.
      op("seccomp", input.seccomp.flags, input.seccomp.bpf)
    : undefined;
  const finalize: PlanOp[] = [];
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before dropping privileges.
  if (seccompOp && !p.noNewPrivileges) finalize.push(seccompOp);
  finalize.push(op("bounding", input.lastCap, sets.bounding.mask));
  const groups = input.setgroupsDenied ? ["-"] : (p.user.additionalGids ?? []).map(String);
  finalize.push(op("user", p.user.uid, p.user.gid, ...groups));
  // Entered again as the user (runc's chdir follows setuid): a cwd the user may not search fails.
  finalize.push(op("cwd", p.cwd, "verified"));
  finalize.push(
    op(
      "caps",
      input.lastCap,
      sets.effective.mask,
      sets.permitted.mask,
      sets.inheritable.mask,
      sets.ambient.mask,
    ),
  );
  const exec: PlanOp[] = [];
  if (seccompOp && p.noNewPrivileges) exec.push(seccompOp);
  exec.push(op("exec", file, ...argv));
  return { rlimits, prepare, finalize, exec, warnings };
}

// RLIM_INFINITY arrives as 2^64-1, which a JS number cannot hold exactly.
function limitString(n: number | bigint): string {
  return n >= 2 ** 63 ? "18446744073709551615" : String(n);
}
