import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  encodeProgram,
  type SockFilter,
} from "./bpf.js";
import { BpfProgram } from "./bpf-interpreter.js";

const ld = (k: number): SockFilter => ({ code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k });
const ret = (k: number): SockFilter => ({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k });
const jeq = (k: number, jt: number, jf: number): SockFilter => ({
  code: BPF_JMP | BPF_JEQ | BPF_K,
  jt,
  jf,
  k,
});

describe("BpfProgram (test interpreter)", () => {
  it("runs loads of nr, arch and both halves of 64-bit arguments, jumps and returns, counting instructions", () => {
    const p = new BpfProgram(
      encodeProgram([
        ld(4),
        jeq(0xc000003e, 0, 5),
        ld(0),
        jeq(7, 0, 3),
        ld(20), // high half of args[0]
        { code: BPF_ALU | BPF_AND | BPF_K, jt: 0, jf: 0, k: 0xff },
        jeq(0x12, 1, 0),
        ret(1),
        ret(2),
      ]),
    );
    assert.deepEqual(p.run({ nr: 7, arch: 0xc000003e, args: [0x3412_0000_0000n] }), { ret: 2, executed: 8 });
    assert.deepEqual(p.run({ nr: 7, arch: 0xc000003e, args: [0x12n] }), { ret: 1, executed: 8 });
    assert.deepEqual(p.run({ nr: 8, arch: 0xc000003e }), { ret: 1, executed: 5 });
    assert.equal(p.run({ nr: 7, arch: 3 }).ret, 1);
  });

  it("refuses programs the kernel would refuse", () => {
    const refuses = (prog: SockFilter[], why: RegExp) =>
      assert.throws(() => new BpfProgram(encodeProgram(prog)), why);
    refuses([], /length 0/);
    refuses([ld(0)], /does not end with a return/);
    refuses([jeq(1, 5, 0), ret(0)], /jump out of range/);
    refuses([{ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: 3 }, ret(0)], /jump out of range/);
    refuses([ld(64), ret(0)], /outside seccomp_data/);
    refuses([ld(2), ret(0)], /outside seccomp_data/);
    assert.throws(() => new BpfProgram(new Uint8Array(12)), /multiple of 8/);
  });
});
