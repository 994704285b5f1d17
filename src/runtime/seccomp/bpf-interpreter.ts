/**
 * A classic-BPF interpreter for seccomp programs, for tests and measurements only (the kernel
 * runs the real thing). It first checks the program as the kernel's `seccomp_check_filter` /
 * `bpf_check_classic` would (length, opcodes, in-range forward jumps, aligned loads inside
 * `seccomp_data`, ends in a return), then runs it on one `seccomp_data` and reports the
 * returned value and how many instructions ran.
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  decodeProgram,
  SECCOMP_DATA_SIZE,
  type SockFilter,
} from "./bpf.js";

/** The kernel's `struct seccomp_data`, with 64-bit fields as bigint. */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments; missing ones are 0. */
  args?: readonly bigint[];
}

/** Result of one run. */
export interface RunResult {
  /** The 32-bit value the filter returned. */
  ret: number;
  /** Instructions executed, the return included. */
  executed: number;
}

const BPF_MEMWORDS = 16;

function classOf(code: number): number {
  return code & 0x07;
}

/** Throws an Error naming the first instruction the kernel would refuse. */
export function checkProgram(program: readonly SockFilter[]): void {
  if (program.length === 0 || program.length > BPF_MAXINSNS) {
    throw new Error(`program length ${program.length} is outside 1..${BPF_MAXINSNS}`);
  }
  program.forEach((ins, pc) => {
    const cls = classOf(ins.code);
    const bad = (why: string): never => {
      throw new Error(`instruction ${pc} (code 0x${ins.code.toString(16)}): ${why}`);
    };
    switch (cls) {
      case BPF_LD:
        if (ins.code === (BPF_LD | BPF_W | BPF_ABS)) {
          if (ins.k % 4 !== 0 || ins.k + 4 > SECCOMP_DATA_SIZE)
            bad(`load offset ${ins.k} outside seccomp_data`);
        } else if (ins.code === (BPF_LD | BPF_IMM)) {
          // A = k
        } else if (ins.code === (BPF_LD | BPF_MEM)) {
          if (ins.k >= BPF_MEMWORDS) bad("scratch index out of range");
        } else if (ins.code === (BPF_LD | BPF_W | BPF_LEN)) {
          // A = sizeof(seccomp_data)
        } else bad("load mode not allowed in seccomp");
        return;
      case BPF_LDX:
        if (ins.code === (BPF_LDX | BPF_IMM) || ins.code === (BPF_LDX | BPF_W | BPF_LEN)) return;
        if (ins.code === (BPF_LDX | BPF_MEM)) {
          if (ins.k >= BPF_MEMWORDS) bad("scratch index out of range");
          return;
        }
        bad("ldx mode not allowed in seccomp");
        return;
      case BPF_ST:
      case BPF_STX:
        if (ins.k >= BPF_MEMWORDS) bad("scratch index out of range");
        return;
      case BPF_ALU: {
        const op = ins.code & 0xf0;
        if (
          ![
            BPF_ADD,
            BPF_SUB,
            BPF_MUL,
            BPF_DIV,
            BPF_OR,
            BPF_AND,
            BPF_LSH,
            BPF_RSH,
            BPF_NEG,
            BPF_MOD,
            BPF_XOR,
          ].includes(op)
        ) {
          bad("unknown ALU op");
        }
        if ((op === BPF_DIV || op === BPF_MOD) && (ins.code & BPF_X) === 0 && ins.k === 0)
          bad("division by constant 0");
        return;
      }
      case BPF_JMP: {
        const op = ins.code & 0xf0;
        if (op === BPF_JA) {
          if (pc + 1 + ins.k >= program.length) bad("jump out of range");
        } else if ([BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].includes(op)) {
          if (pc + 1 + ins.jt >= program.length || pc + 1 + ins.jf >= program.length)
            bad("jump out of range");
        } else bad("unknown jump op");
        return;
      }
      case BPF_RET:
        if ((ins.code & 0x18) !== BPF_K && (ins.code & 0x18) !== BPF_A) bad("unknown return source");
        return;
      case BPF_MISC:
        if ((ins.code & 0xf8) !== BPF_TAX && (ins.code & 0xf8) !== BPF_TXA) bad("unknown misc op");
        return;
    }
  });
  const last = program[program.length - 1]!;
  if (classOf(last.code) !== BPF_RET) throw new Error("program does not end with a return");
}

function dataWord(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  const field = offset < 16 ? (data.instructionPointer ?? 0n) : (data.args?.[(offset - 16) >> 3] ?? 0n);
  const word = offset % 8 === 0 ? field & 0xffffffffn : (field >> 32n) & 0xffffffffn;
  return Number(word);
}

/** A checked program that can be run many times. */
export class BpfProgram {
  readonly instructions: readonly SockFilter[];

  /** Decodes and checks `bytes` (`struct sock_filter[]`); throws when the kernel would refuse it. */
  constructor(bytes: Uint8Array) {
    this.instructions = decodeProgram(bytes);
    checkProgram(this.instructions);
  }

  /** Runs the filter on one syscall. */
  run(data: SeccompData): RunResult {
    const prog = this.instructions;
    const mem = new Uint32Array(BPF_MEMWORDS);
    let a = 0;
    let x = 0;
    let pc = 0;
    let executed = 0;
    for (;;) {
      const ins = prog[pc]!;
      executed++;
      pc++;
      const src = (ins.code & BPF_X) !== 0 ? x : ins.k;
      switch (classOf(ins.code)) {
        case BPF_LD:
          if ((ins.code & 0xe0) === BPF_ABS) a = dataWord(data, ins.k);
          else if ((ins.code & 0xe0) === BPF_IMM) a = ins.k >>> 0;
          else if ((ins.code & 0xe0) === BPF_MEM) a = mem[ins.k]!;
          else a = SECCOMP_DATA_SIZE;
          break;
        case BPF_LDX:
          if ((ins.code & 0xe0) === BPF_IMM) x = ins.k >>> 0;
          else if ((ins.code & 0xe0) === BPF_MEM) x = mem[ins.k]!;
          else x = SECCOMP_DATA_SIZE;
          break;
        case BPF_ST:
          mem[ins.k] = a;
          break;
        case BPF_STX:
          mem[ins.k] = x;
          break;
        case BPF_ALU:
          a = alu(ins.code & 0xf0, a, src >>> 0);
          break;
        case BPF_JMP: {
          const op = ins.code & 0xf0;
          if (op === BPF_JA) {
            pc += ins.k;
            break;
          }
          const s = src >>> 0;
          const taken =
            op === BPF_JEQ ? a === s : op === BPF_JGT ? a > s : op === BPF_JGE ? a >= s : (a & s) !== 0;
          pc += taken ? ins.jt : ins.jf;
          break;
        }
        case BPF_RET:
          return { ret: ((ins.code & 0x18) === BPF_A ? a : ins.k) >>> 0, executed };
        case BPF_MISC:
          if ((ins.code & 0xf8) === BPF_TAX) x = a;
          else a = x;
          break;
      }
    }
  }
}

function alu(op: number, a: number, k: number): number {
  switch (op) {
    case BPF_ADD:
      return (a + k) >>> 0;
    case BPF_SUB:
      return (a - k) >>> 0;
    case BPF_MUL:
      return Math.imul(a, k) >>> 0;
    case BPF_DIV:
      return k === 0 ? 0 : Math.floor(a / k) >>> 0;
    case BPF_MOD:
      return k === 0 ? 0 : (a % k) >>> 0;
    case BPF_OR:
      return (a | k) >>> 0;
    case BPF_AND:
      return (a & k) >>> 0;
    case BPF_XOR:
      return (a ^ k) >>> 0;
    case BPF_LSH:
      return k >= 32 ? 0 : (a << k) >>> 0;
    case BPF_RSH:
      return k >= 32 ? 0 : a >>> k;
    case BPF_NEG:
      return -a >>> 0;
    default:
      throw new Error(`unknown ALU op 0x${op.toString(16)}`);
  }
}
