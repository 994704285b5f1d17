/**
 * The generating half of the seccomp compiler: {@link FilterPolicy} → classic BPF.
 *
 * Layout: load `arch`, one `jeq` per filtered `AUDIT_ARCH_*` (native first), else the bad-arch
 * action. Per arch, load `nr` and walk a balanced binary search tree (`jge`) over the number
 * line cut into intervals, each interval ending in one outcome: a `ret`, or the argument checks
 * of one syscall. Consecutive numbers with the same plain outcome share one interval, so a
 * Docker-style allow list of ~350 syscalls becomes far fewer intervals, and a syscall costs
 * about log2(intervals) comparisons instead of a walk down a list. x32 (bit 30 of `nr` on
 * AUDIT_ARCH_X86_64) is just another part of the same number line.
 *
 * Arguments are 64-bit and classic BPF compares 32 bits, so on 64-bit ABIs a comparison looks
 * at the high half first and at the low half only when the high halves are equal; runs of rules
 * on one argument check the high half once (emitLowGroup). On the 32-bit ABIs (i386, x32)
 * libseccomp compares the low halves only, and so does pier.
 */
import { SECCOMP_ABIS, type SeccompAbi } from "./arch.js";
import { Assembly, type Label } from "./assembler.js";
import {
  argHighOffset,
  argLowOffset,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ERRNO,
  type SockFilter,
} from "./bpf.js";
import {
  type AbiPolicy,
  type ArgCondition,
  type ConditionalRule,
  ENOSYS,
  type FilterPolicy,
  type SyscallPolicy,
} from "./policy.js";

const U32_MAX = 0xffffffff;

type Outcome = { kind: "ret"; k: number } | { kind: "syscall"; syscall: SyscallPolicy; bits: 32 | 64 };

/** A run of syscall numbers [start, end] with one outcome. */
export interface Interval {
  start: number;
  end: number;
  outcome: Outcome;
}

function push(out: Interval[], start: number, end: number, outcome: Outcome): void {
  if (start > end) return;
  const last = out[out.length - 1];
  if (
    last &&
    outcome.kind === "ret" &&
    last.outcome.kind === "ret" &&
    last.outcome.k === outcome.k &&
    last.end + 1 === start
  ) {
    last.end = end;
    return;
  }
  out.push({ start, end, outcome });
}

/**
 * Cuts [0, 2^32) into intervals for the ABIs sharing one `AUDIT_ARCH_*`. `abis` are the filtered
 * ones; `slots` every ABI living in that arch value (x86_64 and x32), so that the part of an
 * unfiltered one gets the bad-arch action — except number -1, which libseccomp lets through to
 * the default action (ptrace uses it to skip a syscall).
 */
export function intervalsFor(
  policy: FilterPolicy,
  abis: AbiPolicy[],
  slots: readonly SeccompAbi[],
): Interval[] {
  const out: Interval[] = [];
  const ret = (k: number): Outcome => ({ kind: "ret", k });
  const enosys = ret((SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
  for (const slot of slots) {
    const [low, high] = slot.range;
    const abi = abis.find((a) => a.abi === slot);
    if (abi === undefined) {
      if (high === U32_MAX) {
        push(out, low, high - 1, ret(policy.badArchRet));
        push(out, high, high, ret(policy.defaultRet));
      } else {
        push(out, low, high, ret(policy.badArchRet));
      }
      continue;
    }
    let cursor = low;
    for (const s of abi.syscalls) {
      push(out, cursor, s.nr - 1, ret(policy.defaultRet));
      push(
        out,
        s.nr,
        s.nr,
        s.rules.length === 0 ? ret(s.fallback) : { kind: "syscall", syscall: s, bits: abi.abi.bits },
      );
      cursor = s.nr + 1;
    }
    if (abi.enosysAbove !== undefined) {
      push(out, cursor, abi.enosysAbove, ret(policy.defaultRet));
      push(out, Math.max(cursor, abi.enosysAbove + 1), high, enosys);
    } else {
      push(out, cursor, high, ret(policy.defaultRet));
    }
  }
  return out;
}

/**
 * Identical argument-check blocks (same ABI width, rules and fallback — e.g. Docker's socket and
 * personality rules on i386 and x32) are emitted once, at their last occurrence in program
 * order; earlier occurrences jump forward to it. The native ABI's tree is emitted last, so its
 * own syscalls never pay the extra `ja`.
 */
interface Sharing {
  /** Occurrence index (in emission order) of the copy that is emitted, by block key. */
  last: Map<string, number>;
  count: Map<string, number>;
  labels: Map<string, Label>;
  seen: number;
}

function blockKey(bits: number, s: SyscallPolicy): string {
  return JSON.stringify([bits, s.fallback, s.rules], (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

// Leaves in emission order: the tree is laid out right (higher numbers) first.
function forEachLeaf(intervals: Interval[], lo: number, hi: number, visit: (iv: Interval) => void): void {
  if (lo === hi) {
    visit(intervals[lo]!);
    return;
  }
  const mid = (lo + hi + 1) >> 1;
  forEachLeaf(intervals, mid, hi, visit);
  forEachLeaf(intervals, lo, mid - 1, visit);
}

function emitTree(asm: Assembly, sharing: Sharing, intervals: Interval[], lo: number, hi: number): void {
  if (lo === hi) {
    const o = intervals[lo]!.outcome;
    if (o.kind === "ret") {
      asm.ret(o.k);
      return;
    }
    const key = blockKey(o.bits, o.syscall);
    const index = sharing.seen++;
    if (sharing.count.get(key)! > 1) {
      let label = sharing.labels.get(key);
      if (label === undefined) {
        label = asm.label();
        sharing.labels.set(key, label);
      }
      if (index !== sharing.last.get(key)) {
        asm.goto(label);
        return;
      }
      asm.bind(label);
    }
    emitSyscall(asm, o.syscall, o.bits);
    return;
  }
  const mid = (lo + hi + 1) >> 1;
  const left = asm.label();
  const right = asm.label();
  asm.jump("jge", intervals[mid]!.start, right, left);
  asm.bind(right);
  emitTree(asm, sharing, intervals, mid, hi);
  asm.bind(left);
  emitTree(asm, sharing, intervals, lo, mid - 1);
}

function emitSyscall(asm: Assembly, s: SyscallPolicy, bits: 32 | 64): void {
  const rules = s.rules;
  let i = 0;
  while (i < rules.length) {
    let j = i + 1;
    while (j < rules.length && sameLowGroup(rules[i]!, rules[j]!, bits)) j++;
    if (j - i >= 2) {
      emitLowGroup(asm, rules.slice(i, j), bits);
      i = j;
      continue;
    }
    const rule = rules[i++]!;
    const next = asm.label();
    for (const c of rule.conditions) {
      if (bits === 64) emitCondition(asm, c, next);
      else emitCondition32(asm, c, next);
    }
    asm.ret(rule.ret);
    asm.bind(next);
  }
  asm.ret(s.fallback);
}

/**
 * A single-condition rule whose test, on a 64-bit ABI, is "high half equals H and the low half
 * compares to L" (EQ with any H; LT/LE with H = 0), or any single non-mask test on a 32-bit ABI.
 */
function lowTestable(rule: ConditionalRule, bits: 32 | 64): ArgCondition | undefined {
  if (rule.conditions.length !== 1) return undefined;
  const c = rule.conditions[0]!;
  if (c.op === "SCMP_CMP_MASKED_EQ") return undefined;
  if (bits === 32) return c;
  if (c.op === "SCMP_CMP_EQ") return c;
  if ((c.op === "SCMP_CMP_LT" || c.op === "SCMP_CMP_LE") && c.value >> 32n === 0n) return c;
  return undefined;
}

function sameLowGroup(first: ConditionalRule, other: ConditionalRule, bits: 32 | 64): boolean {
  const a = lowTestable(first, bits);
  const b = lowTestable(other, bits);
  return (
    a !== undefined &&
    b !== undefined &&
    a.index === b.index &&
    (bits === 32 || a.value >> 32n === b.value >> 32n)
  );
}

/**
 * Consecutive rules testing the same argument (Docker's socket families, personality values):
 * the high half is checked once and the low half loaded once, then each rule costs one jump,
 * in profile order, as libseccomp's merged tree does. No rule matching continues after the group.
 */
function emitLowGroup(asm: Assembly, rules: ConditionalRule[], bits: 32 | 64): void {
  const first = rules[0]!.conditions[0]!;
  const after = asm.label();
  if (bits === 64) {
    const high = asm.label();
    asm.load(argHighOffset(first.index));
    asm.jump("jeq", Number(first.value >> 32n), high, after);
    asm.bind(high);
  }
  asm.load(argLowOffset(first.index));
  for (const rule of rules) {
    const c = rule.conditions[0]!;
    const lo = Number(c.value & 0xffffffffn);
    const hit = asm.label();
    const next = asm.label();
    switch (c.op) {
      case "SCMP_CMP_EQ":
        asm.jump("jeq", lo, hit, next);
        break;
      case "SCMP_CMP_NE":
        asm.jump("jeq", lo, next, hit);
        break;
      case "SCMP_CMP_LT":
        asm.jump("jge", lo, next, hit);
        break;
      case "SCMP_CMP_LE":
        asm.jump("jgt", lo, next, hit);
        break;
      case "SCMP_CMP_GT":
        asm.jump("jgt", lo, hit, next);
        break;
      case "SCMP_CMP_GE":
        asm.jump("jge", lo, hit, next);
        break;
      case "SCMP_CMP_MASKED_EQ":
        throw new Error("BPF codegen: MASKED_EQ cannot join a low-half group");
    }
    asm.bind(hit);
    asm.ret(rule.ret);
    asm.bind(next);
  }
  asm.bind(after);
}

/** Emits a 64-bit comparison that falls through when it holds and jumps to `fail` otherwise. */
function emitCondition(asm: Assembly, c: ArgCondition, fail: Label): void {
  const hi = Number(c.value >> 32n);
  const lo = Number(c.value & 0xffffffffn);
  const ok = asm.label();
  const low = asm.label();
  const between = asm.label();
  asm.load(argHighOffset(c.index));
  switch (c.op) {
    case "SCMP_CMP_EQ":
      asm.jump("jeq", hi, low, fail);
      asm.bind(low);
      asm.load(argLowOffset(c.index));
      asm.jump("jeq", lo, ok, fail);
      break;
    case "SCMP_CMP_NE":
      asm.jump("jeq", hi, low, ok);
      asm.bind(low);
      asm.load(argLowOffset(c.index));
      asm.jump("jeq", lo, fail, ok);
      break;
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
      asm.jump("jgt", hi, ok, between);
      asm.bind(between);
      asm.jump("jeq", hi, low, fail);
      asm.bind(low);
      asm.load(argLowOffset(c.index));
      asm.jump(c.op === "SCMP_CMP_GT" ? "jgt" : "jge", lo, ok, fail);
      break;
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE":
      asm.jump("jgt", hi, fail, between);
      asm.bind(between);
      asm.jump("jeq", hi, low, ok);
      asm.bind(low);
      asm.load(argLowOffset(c.index));
      // a < lo  ⇔ !(a >= lo);  a <= lo ⇔ !(a > lo)
      asm.jump(c.op === "SCMP_CMP_LT" ? "jge" : "jgt", lo, fail, ok);
      break;
    case "SCMP_CMP_MASKED_EQ": {
      // libseccomp compares against valueTwo masked too: (arg & mask) == (valueTwo & mask).
      const wantHi = Number((c.valueTwo >> 32n) & 0xffffffffn) & hi;
      const wantLo = Number(c.valueTwo & 0xffffffffn) & lo;
      asm.and(hi);
      asm.jump("jeq", wantHi, low, fail);
      asm.bind(low);
      asm.load(argLowOffset(c.index));
      asm.and(lo);
      asm.jump("jeq", wantLo, ok, fail);
      break;
    }
  }
  asm.bind(ok);
}

/**
 * The 32-bit ABIs' comparison (i386, x32): libseccomp compares only the low halves, with the
 * rule's values truncated to 32 bits, since those ABIs' arguments are 32-bit.
 */
function emitCondition32(asm: Assembly, c: ArgCondition, fail: Label): void {
  const v = Number(c.value & 0xffffffffn);
  const ok = asm.label();
  asm.load(argLowOffset(c.index));
  switch (c.op) {
    case "SCMP_CMP_EQ":
      asm.jump("jeq", v, ok, fail);
      break;
    case "SCMP_CMP_NE":
      asm.jump("jeq", v, fail, ok);
      break;
    case "SCMP_CMP_GT":
      asm.jump("jgt", v, ok, fail);
      break;
    case "SCMP_CMP_GE":
      asm.jump("jge", v, ok, fail);
      break;
    case "SCMP_CMP_LT":
      asm.jump("jge", v, fail, ok);
      break;
    case "SCMP_CMP_LE":
      asm.jump("jgt", v, fail, ok);
      break;
    case "SCMP_CMP_MASKED_EQ":
      asm.and(v);
      asm.jump("jeq", Number(c.valueTwo & 0xffffffffn) & v, ok, fail);
      break;
  }
  asm.bind(ok);
}

/** Generates the whole program for a policy. */
export function generateProgram(policy: FilterPolicy): SockFilter[] {
  const asm = new Assembly();
  // Group ABIs by the arch value the kernel reports; the native group first.
  const groups = new Map<number, AbiPolicy[]>();
  for (const a of policy.abis) {
    const g = groups.get(a.abi.auditArch);
    if (g) g.push(a);
    else groups.set(a.abi.auditArch, [a]);
  }
  const order = [...groups.entries()];
  const entries = order.map(() => asm.label());
  asm.load(SECCOMP_DATA_ARCH);
  order.forEach(([arch], i) => {
    const next = asm.label();
    asm.jump("jeq", arch, entries[i]!, next);
    asm.bind(next);
  });
  asm.ret(policy.badArchRet);

  // Bodies: the native group last (see Sharing).
  const bodies = order.map(([arch, abis], i) => ({
    entry: entries[i]!,
    intervals: intervalsFor(
      policy,
      abis,
      SECCOMP_ABIS.filter((a) => a.auditArch === arch),
    ),
  }));
  bodies.push(bodies.shift()!);
  const sharing: Sharing = { last: new Map(), count: new Map(), labels: new Map(), seen: 0 };
  for (const { intervals } of bodies) {
    forEachLeaf(intervals, 0, intervals.length - 1, (iv) => {
      if (iv.outcome.kind !== "syscall") return;
      const key = blockKey(iv.outcome.bits, iv.outcome.syscall);
      sharing.last.set(key, sharing.seen++);
      sharing.count.set(key, (sharing.count.get(key) ?? 0) + 1);
    });
  }
  sharing.seen = 0;
  for (const { entry, intervals } of bodies) {
    asm.bind(entry);
    asm.load(SECCOMP_DATA_NR);
    emitTree(asm, sharing, intervals, 0, intervals.length - 1);
  }
  return asm.assemble();
}
