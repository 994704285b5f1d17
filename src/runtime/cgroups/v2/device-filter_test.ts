import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LinuxDeviceCgroup } from "../../../oci/runtime-spec/resources.js";
import { BPF_DEVCG, compileDeviceFilter } from "./device-filter.js";

/**
 * A minimal interpreter for the instructions the compiler emits, so the tests check what the
 * program decides rather than its bytes. Unknown opcodes fail the test.
 */
function run(prog: Buffer, type: "c" | "b", access: string, major: number, minor: number): number {
  const t = type === "b" ? BPF_DEVCG.DEV_BLOCK : BPF_DEVCG.DEV_CHAR;
  let a = 0;
  for (const ch of access) a |= ch === "m" ? 1 : ch === "r" ? 2 : 4;
  const ctx = [((a << 16) | t) >>> 0, major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const code = prog.readUInt8(pc * 8);
    const regs = prog.readUInt8(pc * 8 + 1);
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4) >>> 0;
    pc++;
    switch (code) {
      case 0x61:
        r[dst] = ctx[off / 4]!;
        break;
      case 0x54:
        r[dst] = (r[dst]! & imm) >>> 0;
        break;
      case 0x74:
        r[dst] = r[dst]! >>> imm;
        break;
      case 0xb4:
        r[dst] = imm;
        break;
      case 0xbc:
        r[dst] = r[src]!;
        break;
      case 0x15:
        if (r[dst] === imm) pc += off;
        break;
      case 0x55:
        if (r[dst] !== imm) pc += off;
        break;
      case 0x5d:
        if (r[dst] !== r[src]) pc += off;
        break;
      case 0x95:
        return r[0]!;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error("program did not exit");
}

const DEFAULT_RULES: LinuxDeviceCgroup[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // /dev/null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // /dev/zero
  { allow: true, type: "c", major: 136, access: "rwm" }, // /dev/pts/*
  { allow: true, type: "c", major: 5, minor: 1, access: "rw" }, // /dev/console
];

describe("compileDeviceFilter", () => {
  it("allows the listed devices and denies the rest", () => {
    const p = compileDeviceFilter(DEFAULT_RULES);
    assert.equal(p.length % 8, 0);
    assert.equal(run(p, "c", "rw", 1, 3), 1);
    assert.equal(run(p, "c", "m", 1, 5), 1);
    assert.equal(run(p, "c", "rw", 136, 42), 1, "major wildcard");
    assert.equal(run(p, "c", "rw", 5, 1), 1);
    assert.equal(run(p, "c", "m", 5, 1), 0, "mknod not granted for the console");
    assert.equal(run(p, "b", "rw", 1, 3), 0, "type matters");
    assert.equal(run(p, "c", "r", 1, 8), 0, "/dev/random is not listed");
  });

  it("lets a later rule override an earlier one, as on v1", () => {
    const p = compileDeviceFilter([
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    assert.equal(run(p, "c", "r", 1, 3), 1);
    assert.equal(run(p, "c", "w", 1, 3), 0);
    assert.equal(run(p, "c", "rw", 1, 3), 0, "a deny of any requested access wins");
  });

  it("stops at a rule matching everything", () => {
    const allowAll = compileDeviceFilter([{ allow: false, type: "c", major: 1, minor: 3 }, { allow: true }]);
    assert.equal(run(allowAll, "c", "rw", 1, 3), 1);
    assert.equal(allowAll.length, (6 + 2) * 8, "prelude and one block only");
    assert.equal(run(compileDeviceFilter([]), "c", "r", 1, 3), 0, "an empty list denies all");
  });
});
