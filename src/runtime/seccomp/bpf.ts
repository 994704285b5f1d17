/**
 * Classic BPF as seccomp uses it (linux/filter.h, linux/bpf_common.h, linux/seccomp.h): opcode
 * constants, the `seccomp_data` layout, `SECCOMP_RET_*` values and the 8-byte `struct
 * sock_filter` encoding. Constants are named as the kernel headers name them.
 */

/** One `struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Instruction classes and fields (linux/bpf_common.h).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel refuses longer filters (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Size of one encoded instruction. */
export const SOCK_FILTER_SIZE = 8;

// struct seccomp_data offsets: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;
/** sizeof(struct seccomp_data); loads must stay inside it. */
export const SECCOMP_DATA_SIZE = 64;

/** Offset of the low 32 bits of argument `index` (little-endian hosts: x86_64, aarch64). */
export function argLowOffset(index: number): number {
  return SECCOMP_DATA_ARGS + 8 * index;
}
/** Offset of the high 32 bits of argument `index` (little-endian hosts). */
export function argHighOffset(index: number): number {
  return SECCOMP_DATA_ARGS + 8 * index + 4;
}

// Filter return values (linux/seccomp.h), in the kernel's precedence order.
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// seccomp(2) SECCOMP_SET_MODE_FILTER flags.
export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

/** Encodes instructions as the kernel's `struct sock_filter[]` (host byte order: little-endian). */
export function encodeProgram(program: readonly SockFilter[]): Buffer {
  const out = Buffer.alloc(program.length * SOCK_FILTER_SIZE);
  program.forEach((ins, i) => {
    const at = i * SOCK_FILTER_SIZE;
    out.writeUInt16LE(ins.code, at);
    out.writeUInt8(ins.jt, at + 2);
    out.writeUInt8(ins.jf, at + 3);
    out.writeUInt32LE(ins.k >>> 0, at + 4);
  });
  return out;
}

/** Decodes `struct sock_filter[]` bytes; throws RangeError when the length is not a multiple of 8. */
export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new RangeError(`BPF program length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE}`);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: SockFilter[] = [];
  for (let at = 0; at < buf.length; at += SOCK_FILTER_SIZE) {
    out.push({
      code: buf.readUInt16LE(at),
      jt: buf.readUInt8(at + 2),
      jf: buf.readUInt8(at + 3),
      k: buf.readUInt32LE(at + 4),
    });
  }
  return out;
}
