import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSeccompFilter } from "./compile.js";
import { describeRet, disassemble } from "./disassemble.js";

describe("disassemble", () => {
  it("lists a compiled program with field names, absolute targets and actions", () => {
    const { program } = compileSeccompFilter(
      {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW" },
          {
            names: ["personality"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, op: "SCMP_CMP_EQ", value: 8n }],
          },
        ],
      },
      { nativeArch: "x86_64" },
    );
    const text = disassemble(program);
    const lines = text.split("\n");
    assert.equal(lines.length, program.length / 8);
    assert.equal(lines[0], "   0: ld [4]  ; arch");
    assert.match(lines[1]!, /^ {3}1: jeq 0xc000003e \? \d+ : 2$/);
    assert.match(text, /ld \[20\] {2}; args\[0\]\.hi/);
    assert.match(text, /ret ALLOW/);
    assert.match(text, /ret ERRNO\(1\)/);
    assert.match(text, /ret KILL_THREAD/);
  });

  it("names every action", () => {
    assert.equal(describeRet(0x80000000), "KILL_PROCESS");
    assert.equal(describeRet(0x00050026), "ERRNO(38)");
    assert.equal(describeRet(0x7ff0002a), "TRACE(42)");
    assert.equal(describeRet(0x7fc00000), "USER_NOTIF");
    assert.equal(describeRet(0x00030000), "TRAP");
    assert.equal(describeRet(0x7ffc0000), "LOG");
    assert.equal(describeRet(0x12340000), "0x12340000");
  });
});
