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
 * Arguments are 64-bit and classic BPF compares 32 bits, so every comparison looks at the high
 * half first and at the low half only when the high halves are equal.
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
  ENOSYS,
  type FilterPolicy,
  type SyscallPolicy,
} from "./policy.js";

const U32_MAX = 0xffffffff;

type Outcome = { kind: "ret"; k: number } | { kind: "syscall"; syscall: SyscallPolicy };

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
      push(out, s.nr, s.nr, s.rules.length === 0 ? ret(s.fallback) : { kind: "syscall", syscall: s });
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
 * Emission state. Argument-check blocks of non-native ABIs (i386, x32) that are identical to a
 * native one are not emitted twice: they jump to the native copy, which is emitted last so the
 * jump goes forward. That costs one `ja` on the rare foreign-ABI path and keeps Docker-style
 * profiles (the same socket/personality rules on three ABIs) small.
 */
interface Emitter {
  asm: Assembly;
  /** Blocks the native ABI emits, by {@link blockKey}, with the label placed on them. */
  shared: Map<string, Label>;
  /** Whether the tree being emitted is the native ABI's part. */
  native: boolean;
  placed: Set<string>;
}

function blockKey(s: SyscallPolicy): string {
  return JSON.stringify([s.fallback, s.rules], (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

function emitBlock(e: Emitter, s: SyscallPolicy): void {
  const key = blockKey(s);
  const label = e.shared.get(key);
  if (label !== undefined && !e.native) {
    e.asm.goto(label);
    return;
  }
  if (label !== undefined && !e.placed.has(key)) {
    e.placed.add(key);
    e.asm.bind(label);
  }
  emitSyscall(e.asm, s);
}

function emitSyscall(asm: Assembly, s: SyscallPolicy): void {
  for (const rule of s.rules) {
    const next = asm.label();
    for (const c of rule.conditions) emitCondition(asm, c, next);
    asm.ret(rule.ret);
    asm.bind(next);
  }
  asm.ret(s.fallback);
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
      const wantHi = Number((c.valueTwo >> 32n) & 0xffffffffn);
      const wantLo = Number(c.valueTwo & 0xffffffffn);
      asm.and(hi);
      // Bits of valueTwo outside the mask can never match; jeq against it then always fails.
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

/** Generates the whole program for a policy. */
export function generateProgram(policy: FilterPolicy): SockFilter[] {
  const asm = new Assembly();
  const native = policy.abis[0]!;
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

  const shared = new Map<string, Label>();
  for (const s of native.syscalls) if (s.rules.length > 0) shared.set(blockKey(s), asm.label());
  const emitter: Emitter = { asm, shared, native: false, placed: new Set() };
  // Bodies: the native group last, so shared native blocks come after every jump to them.
  const bodies = order.map((g, i) => ({ abis: g[1], entry: entries[i]! }));
  bodies.push(bodies.shift()!);
  for (const { abis, entry } of bodies) {
    asm.bind(entry);
    asm.load(SECCOMP_DATA_NR);
    const slots = SECCOMP_ABIS.filter((a) => a.auditArch === abis[0]!.abi.auditArch);
    const intervals = intervalsFor(policy, abis, slots);
    emitTreeFor(emitter, intervals, native);
  }
  return asm.assemble();
}

// The binary search tree over `intervals`, right (higher numbers) first: within
// AUDIT_ARCH_X86_64 the x32 part then precedes the native x86_64 part, so x32 blocks can jump
// forward into shared native blocks.
function emitTreeFor(e: Emitter, intervals: Interval[], native: AbiPolicy): void {
  const [low, high] = native.abi.range;
  const isNative = (iv: Interval) =>
    iv.outcome.kind === "syscall" &&
    native.syscalls.includes(iv.outcome.syscall) &&
    iv.start >= low &&
    iv.end <= high;
  const walk = (lo: number, hi: number): void => {
    if (lo === hi) {
      const iv = intervals[lo]!;
      e.native = isNative(iv);
      if (iv.outcome.kind === "ret") e.asm.ret(iv.outcome.k);
      else emitBlock(e, iv.outcome.syscall);
      return;
    }
    const mid = (lo + hi + 1) >> 1;
    const left = e.asm.label();
    const right = e.asm.label();
    e.asm.jump("jge", intervals[mid]!.start, right, left);
    e.asm.bind(right);
    walk(mid, hi);
    e.asm.bind(left);
    walk(lo, mid - 1);
  };
  walk(0, intervals.length - 1);
}
