/**
 * The cgroup v2 device filter: compiles the runtime-spec device list into an eBPF program of
 * type BPF_PROG_TYPE_CGROUP_DEVICE, as runc's `devicefilter` does. Pure: it returns the
 * instruction bytes; loading (bpf(2) BPF_PROG_LOAD) and attaching (BPF_PROG_ATTACH with
 * BPF_CGROUP_DEVICE to the cgroup's directory fd) is the native helper's job.
 *
 * The kernel calls the program with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
 * u32 minor; }` where `access_type` is `(access << 16) | type`; returning 1 allows, 0 denies.
 * The semantics are the v1 list's: everything denied, then each rule in order, a later rule
 * overriding an earlier one. So the program tests the rules last to first and returns at the
 * first match. An allow rule matches when every requested access is in its `access`; a deny
 * rule when any requested access is.
 */
import type { LinuxDeviceCgroup } from "../../../oci/runtime-spec/resources.js";

/** `BPF_DEVCG_DEV_*` and `BPF_DEVCG_ACC_*` (linux/bpf.h). */
export const BPF_DEVCG = { DEV_BLOCK: 1, DEV_CHAR: 2, ACC_MKNOD: 1, ACC_READ: 2, ACC_WRITE: 4 } as const;

/** `BPF_PROG_TYPE_CGROUP_DEVICE`: the program type to load the filter as (bpf(2) BPF_PROG_LOAD). */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
/** `BPF_CGROUP_DEVICE`: the attach type (bpf(2) BPF_PROG_ATTACH on the cgroup directory's fd). */
export const BPF_CGROUP_DEVICE = 6;

/** The license string to load the program with (it uses no GPL-only helper). */
export const DEVICE_FILTER_LICENSE = "Apache";

// Opcodes (linux/bpf_common.h, linux/bpf.h): class | op | source.
const LDX_MEM_W = 0x61;
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU32_MOV_K = 0xb4;
const ALU32_MOV_X = 0xbc;
const JMP_JEQ_K = 0x15;
const JMP_JNE_K = 0x55;
const JMP_JNE_X = 0x5d;
const JMP_EXIT = 0x95;

/** One eBPF instruction before encoding; `off: "next"` jumps past the end of its rule block. */
interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number | "next";
  imm: number;
}

const R0 = 0;
const R1 = 1;
const R2 = 2; // device type
const R3 = 3; // requested access
const R4 = 4; // major
const R5 = 5; // minor

function ins(code: number, dst: number, src: number, off: number | "next", imm: number): Insn {
  return { code, dst, src, off, imm };
}

function accessBits(access: string | undefined): number {
  const a = access ? access : "rwm";
  return (
    (a.includes("m") ? BPF_DEVCG.ACC_MKNOD : 0) |
    (a.includes("r") ? BPF_DEVCG.ACC_READ : 0) |
    (a.includes("w") ? BPF_DEVCG.ACC_WRITE : 0)
  );
}

const ALL_ACCESS = 7;

function ruleBlock(rule: LinuxDeviceCgroup): { block: Insn[]; matchesAll: boolean } {
  const block: Insn[] = [];
  const type = rule.type ?? "a";
  if (type !== "a") {
    block.push(ins(JMP_JNE_K, R2, 0, "next", type === "b" ? BPF_DEVCG.DEV_BLOCK : BPF_DEVCG.DEV_CHAR));
  }
  const bits = accessBits(rule.access);
  if (bits !== ALL_ACCESS) {
    block.push(ins(ALU32_MOV_X, R1, R3, 0, 0), ins(ALU32_AND_K, R1, 0, 0, bits));
    // allow: every requested bit granted (R1 == R3); deny: any requested bit named (R1 != 0).
    block.push(rule.allow ? ins(JMP_JNE_X, R1, R3, "next", 0) : ins(JMP_JEQ_K, R1, 0, "next", 0));
  }
  // For type "a" the numbers mean nothing (v1 ignores them too).
  if (type !== "a" && rule.major !== undefined && rule.major >= 0)
    block.push(ins(JMP_JNE_K, R4, 0, "next", rule.major));
  if (type !== "a" && rule.minor !== undefined && rule.minor >= 0)
    block.push(ins(JMP_JNE_K, R5, 0, "next", rule.minor));
  const matchesAll = block.length === 0;
  block.push(ins(ALU32_MOV_K, R0, 0, 0, rule.allow ? 1 : 0), ins(JMP_EXIT, 0, 0, 0, 0));
  return { block, matchesAll };
}

/** Encodes instructions as the kernel reads them: 8 bytes each, little-endian (x86-64, arm64). */
export function encodeInsns(
  insns: readonly { code: number; dst: number; src: number; off: number; imm: number }[],
): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    buf.writeUInt8(x.code, i * 8);
    buf.writeUInt8((x.src << 4) | x.dst, i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return buf;
}

/**
 * Compiles `rules` (in spec order) into the instruction bytes of a device filter. A rule that
 * matches every device and access ends the program, since rules before it can never decide.
 */
export function compileDeviceFilter(rules: readonly LinuxDeviceCgroup[]): Buffer {
  const program: Insn[] = [
    ins(LDX_MEM_W, R2, R1, 0, 0),
    ins(ALU32_AND_K, R2, 0, 0, 0xffff),
    ins(LDX_MEM_W, R3, R1, 0, 0),
    ins(ALU32_RSH_K, R3, 0, 0, 16),
    ins(LDX_MEM_W, R4, R1, 4, 0),
    ins(LDX_MEM_W, R5, R1, 8, 0),
  ];
  let decided = false;
  for (let i = rules.length - 1; i >= 0 && !decided; i--) {
    const { block, matchesAll } = ruleBlock(rules[i]!);
    block.forEach((x, j) => {
      if (x.off === "next") x.off = block.length - (j + 1);
    });
    program.push(...block);
    decided = matchesAll;
  }
  if (!decided) program.push(ins(ALU32_MOV_K, R0, 0, 0, 0), ins(JMP_EXIT, 0, 0, 0, 0));
  return encodeInsns(program.map((x) => ({ ...x, off: x.off === "next" ? 0 : x.off })));
}
