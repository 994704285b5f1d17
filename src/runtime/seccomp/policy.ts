/**
 * The deciding half of the seccomp compiler: turns a validated `linux.seccomp` object into a
 * {@link FilterPolicy} — per ABI, per syscall number, which conditional rules apply and what the
 * kernel must return — following runc (+ libseccomp) semantics, documented here once:
 *
 * - The native ABI is always filtered; `architectures` adds ABIs. Architectures pier has no
 *   syscall table for (MIPS, PPC, s390, RISC-V, …) are left out, so their syscalls get the
 *   bad-arch action.
 * - Bad architecture (including x32 syscalls when `SCMP_ARCH_X32` is not listed, except the
 *   syscall number -1) → `SECCOMP_RET_KILL_THREAD`, libseccomp's default bad-arch action, which
 *   runc does not change.
 * - Syscall names unknown to an ABI's table are ignored for that ABI (runc logs them at debug).
 * - On i386, socket and SysV IPC calls also reach the kernel through `socketcall`/`ipc`; as
 *   libseccomp does, a rule on e.g. `socket` also applies to `socketcall` whose argument 0 is
 *   SYS_SOCKET (the rule's own conditions cannot be checked there and are dropped).
 * - A rule whose action equals the default action is skipped (runc does the same).
 * - An unconditional rule wins over conditional rules for the same syscall, and the first
 *   unconditional rule wins over later ones (libseccomp keeps the first).
 * - Conditions of one rule are ANDed; rules for one syscall are ORed, tried in profile order.
 *   When one rule has several conditions on the same argument, runc splits it into one rule per
 *   condition (ORed), because libseccomp refuses that; pier does the same.
 * - `SCMP_CMP_MASKED_EQ` matches when `(arg & value) == (valueTwo & value)`: libseccomp masks
 *   both sides (a `valueTwo` bit outside the mask is ignored, not an impossible match).
 * - runc's -ENOSYS stub: when the default action is not ALLOW, LOG or TRACE, syscall numbers
 *   above the highest one the profile names get `ERRNO(ENOSYS)`, for each ABI listed in
 *   `architectures`, so that programs fall back from syscalls newer than the profile.
 * - `SCMP_ACT_NOTIFY` may not be the default action nor apply to `write` (runc refuses both:
 *   the runtime needs `write` to hand the listener fd over), and needs `listenerPath`.
 */
import type {
  LinuxSeccomp,
  LinuxSeccompAction,
  LinuxSeccompOperator,
} from "../../oci/runtime-spec/seccomp.js";
import { abiForScmpArch, nativeAbi, type SeccompAbi } from "./arch.js";
import {
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from "./bpf.js";
import { SeccompError } from "./error.js";

const EPERM = 1;
/** errno ENOSYS, returned for syscalls newer than the profile (runc's stub). */
export const ENOSYS = 38;

/** One argument condition, values as unsigned 64-bit bigints. */
export interface ArgCondition {
  index: number;
  op: LinuxSeccompOperator;
  value: bigint;
  /** Second operand (`SCMP_CMP_MASKED_EQ` only); 0 when absent. */
  valueTwo: bigint;
}

/** A rule with conditions: returns `ret` when every condition holds. */
export interface ConditionalRule {
  conditions: ArgCondition[];
  ret: number;
}

/** What one syscall number gets: the first matching conditional rule, else `fallback`. */
export interface SyscallPolicy {
  nr: number;
  name: string;
  rules: ConditionalRule[];
  fallback: number;
}

/** The decisions for one ABI. */
export interface AbiPolicy {
  abi: SeccompAbi;
  /** Syscalls whose outcome differs from the default action, sorted by number. */
  syscalls: SyscallPolicy[];
  /** When set, numbers above this one (inside the ABI's range) get `ERRNO(ENOSYS)`. */
  enosysAbove?: number;
}

/** Everything the code generator needs. */
export interface FilterPolicy {
  defaultRet: number;
  badArchRet: number;
  /** Native ABI first. */
  abis: AbiPolicy[];
  /** `seccomp(2)` flags, including NEW_LISTENER when the profile uses SCMP_ACT_NOTIFY. */
  flags: number;
  notify: boolean;
  /** Debug notes: ignored syscall names and architectures. */
  notes: string[];
}

/** The `SECCOMP_RET_*` value for an action; `errnoRet` defaults to EPERM as in runc. */
export function actionRet(action: LinuxSeccompAction, errnoRet?: number): number {
  const data = (errnoRet ?? EPERM) & SECCOMP_RET_DATA;
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET_KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET_TRAP;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET_ERRNO | data) >>> 0;
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET_TRACE | data) >>> 0;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET_LOG;
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET_ALLOW;
    case "SCMP_ACT_NOTIFY":
      return SECCOMP_RET_USER_NOTIF;
  }
}

const PERMISSIVE: ReadonlySet<LinuxSeccompAction> = new Set([
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_TRACE",
]);

interface SyscallEntry {
  name: string;
  unconditional?: number;
  rules: ConditionalRule[];
}

function addRule(entry: SyscallEntry, conditions: ArgCondition[], ret: number): void {
  if (conditions.length === 0) {
    entry.unconditional ??= ret;
    return;
  }
  const indexes = new Set(conditions.map((c) => c.index));
  if (indexes.size < conditions.length) {
    for (const c of conditions) entry.rules.push({ conditions: [c], ret });
  } else {
    entry.rules.push({ conditions, ret });
  }
}

/** Options of {@link decidePolicy}. */
export interface PolicyOptions {
  /** Native architecture name; see `nativeAbi`. Defaults to this process's. */
  nativeArch?: string;
}

/**
 * Decides the filter for a validated profile. Pure: no I/O, no kernel. Throws `SeccompError`
 * `INVALID_PROFILE` for a NOTIFY default action, NOTIFY on `write` or without `listenerPath`;
 * `UNSUPPORTED_ARCH` for an unknown native architecture.
 */
export function decidePolicy(seccomp: LinuxSeccomp, options: PolicyOptions = {}): FilterPolicy {
  const notes: string[] = [];
  if (seccomp.defaultAction === "SCMP_ACT_NOTIFY") {
    throw new SeccompError(
      "INVALID_PROFILE",
      "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
  }
  const rules = seccomp.syscalls ?? [];
  rules.forEach((rule, i) => {
    if (rule.action === "SCMP_ACT_NOTIFY" && rule.names.includes("write")) {
      throw new SeccompError(
        "INVALID_PROFILE",
        `linux.seccomp.syscalls[${i}]: SCMP_ACT_NOTIFY cannot be used for the write syscall`,
      );
    }
  });
  if (seccomp.listenerPath === undefined && rules.some((r) => r.action === "SCMP_ACT_NOTIFY")) {
    // runc fails the same profile later, when it has no socket to hand the listener fd to.
    throw new SeccompError(
      "INVALID_PROFILE",
      "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY (the listener fd goes to that socket)",
    );
  }
  const defaultRet = actionRet(seccomp.defaultAction, seccomp.defaultErrnoRet);

  const native = nativeAbi(options.nativeArch);
  const abis: SeccompAbi[] = [native];
  const listed = new Set<SeccompAbi>();
  for (const arch of seccomp.architectures ?? []) {
    const abi = abiForScmpArch(arch);
    if (abi === undefined) {
      notes.push(
        `architecture ${arch} ignored: pier has no syscall table for it (its syscalls get the bad-arch action)`,
      );
      continue;
    }
    listed.add(abi);
    if (!abis.includes(abi)) abis.push(abi);
  }
  const stub = !PERMISSIVE.has(seccomp.defaultAction);

  const abiPolicies = abis.map((abi): AbiPolicy => {
    const bySyscall = new Map<number, SyscallEntry>();
    let highest = -1;
    const entryFor = (nr: number, name: string) => {
      let entry = bySyscall.get(nr);
      if (entry === undefined) {
        entry = { name, rules: [] };
        bySyscall.set(nr, entry);
      }
      return entry;
    };
    for (const rule of rules) {
      const ret = actionRet(rule.action, rule.errnoRet);
      const args = rule.args ?? [];
      const conditions = args.map(
        (a): ArgCondition => ({ index: a.index, op: a.op, value: a.value, valueTwo: a.valueTwo ?? 0n }),
      );
      for (const name of rule.names) {
        const nr = abi.table.get(name);
        const mux = abi.multiplexed?.get(name);
        if (nr === undefined && mux === undefined) {
          notes.push(`syscall ${JSON.stringify(name)} ignored for ${abi.name}: not in its syscall table`);
          continue;
        }
        // libseccomp resolves multiplexed names to pseudo numbers, which runc's -ENOSYS stub ignores.
        if (nr !== undefined && mux === undefined) highest = Math.max(highest, nr);
        if (ret === defaultRet) continue;
        if (nr !== undefined) addRule(entryFor(nr, name), conditions, ret);
        if (mux !== undefined) {
          // As libseccomp: the multiplexer is matched on its call number only (the real
          // arguments sit in memory, out of the filter's reach); the rule's conditions are dropped.
          const via = abi.table.get(mux.via)!;
          const call: ArgCondition = { index: 0, op: "SCMP_CMP_EQ", value: BigInt(mux.call), valueTwo: 0n };
          addRule(entryFor(via, mux.via), [call], ret);
        }
      }
    }
    const syscalls = [...bySyscall]
      .map(([nr, e]): SyscallPolicy => {
        if (e.unconditional !== undefined) return { nr, name: e.name, rules: [], fallback: e.unconditional };
        return { nr, name: e.name, rules: e.rules, fallback: defaultRet };
      })
      .sort((a, b) => a.nr - b.nr);
    const policy: AbiPolicy = { abi, syscalls };
    if (stub && listed.has(abi) && highest >= 0) policy.enosysAbove = highest;
    return policy;
  });

  const notify = rules.some((r) => r.action === "SCMP_ACT_NOTIFY");
  let flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (const flag of seccomp.flags ?? []) {
    switch (flag) {
      case "SECCOMP_FILTER_FLAG_TSYNC":
        // TSYNC and NEW_LISTENER are exclusive unless TSYNC_ESRCH reports failures as ESRCH.
        flags |= SECCOMP_FILTER_FLAG_TSYNC | (notify ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
        break;
      case "SECCOMP_FILTER_FLAG_LOG":
        flags |= SECCOMP_FILTER_FLAG_LOG;
        break;
      case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        break;
      case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
        // The kernel refuses it without a listener (EINVAL); it only means something with one.
        if (notify) flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        else notes.push("flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule");
        break;
    }
  }
  return { defaultRet, badArchRet: SECCOMP_RET_KILL_THREAD, abis: abiPolicies, flags, notify, notes };
}
