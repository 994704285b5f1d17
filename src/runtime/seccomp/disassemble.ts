/**
 * A readable listing of a seccomp BPF program, for debug logs and test failure messages
 * (`pier-runtime --debug` can print what it loads). Covers the instructions pier's compiler
 * emits and libseccomp's; anything else prints as raw fields.
 *
 * @example
 * ```ts
 * console.log(disassemble(compileSeccompFilter(seccomp).program));
 * //    0: ld [4]            ; arch
 * //    1: jeq 0xc000003e 1 0
 * ```
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  decodeProgram,
  SECCOMP_RET_ACTION_FULL,
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

const FIELDS: Record<number, string> = { 0: "nr", 4: "arch", 8: "ip.lo", 12: "ip.hi" };

function field(offset: number): string {
  if (FIELDS[offset] !== undefined) return FIELDS[offset];
  const i = (offset - 16) >> 3;
  return `args[${i}].${offset % 8 === 0 ? "lo" : "hi"}`;
}

/** The `SECCOMP_RET_*` name of a filter return value, with its data (errno, trace value). */
export function describeRet(k: number): string {
  const data = k & SECCOMP_RET_DATA;
  switch ((k & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET_TRAP:
      return "TRAP";
    case SECCOMP_RET_ERRNO:
      return `ERRNO(${data})`;
    case SECCOMP_RET_USER_NOTIF:
      return "USER_NOTIF";
    case SECCOMP_RET_TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET_LOG:
      return "LOG";
    case SECCOMP_RET_ALLOW:
      return "ALLOW";
    default:
      return `0x${(k >>> 0).toString(16)}`;
  }
}

const JUMPS: Record<number, string> = {
  [BPF_JEQ]: "jeq",
  [BPF_JGT]: "jgt",
  [BPF_JGE]: "jge",
  [BPF_JSET]: "jset",
};

/** One line per instruction: index, mnemonic, operands, and the absolute jump targets. */
export function disassemble(bytes: Uint8Array): string {
  return decodeProgram(bytes)
    .map((ins, pc) => {
      const at = String(pc).padStart(4);
      const hex = `0x${(ins.k >>> 0).toString(16)}`;
      if (ins.code === (BPF_LD | BPF_W | BPF_ABS)) return `${at}: ld [${ins.k}]  ; ${field(ins.k)}`;
      if (ins.code === (BPF_ALU | BPF_AND | BPF_K)) return `${at}: and ${hex}`;
      if (ins.code === (BPF_RET | BPF_K)) return `${at}: ret ${describeRet(ins.k)}`;
      if (ins.code === (BPF_JMP | BPF_JA)) return `${at}: ja ${pc + 1 + ins.k}`;
      const jump =
        (ins.code & 0x07) === BPF_JMP && (ins.code & 0x08) === BPF_K ? JUMPS[ins.code & 0xf0] : undefined;
      if (jump) return `${at}: ${jump} ${hex} ? ${pc + 1 + ins.jt} : ${pc + 1 + ins.jf}`;
      return `${at}: code=0x${ins.code.toString(16)} jt=${ins.jt} jf=${ins.jf} k=${hex}`;
    })
    .join("\n");
}
