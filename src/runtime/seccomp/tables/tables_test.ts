// Checks the generated syscall tables against an independent source: libseccomp's own tables
// (through testdata/resolve-syscalls.c). Every name pier knows must have the same number in
// libseccomp, except syscalls newer than Debian 12's libseccomp 2.5.4 (451 and up).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../../../testing/busybox.js";
import { seccompTestdata } from "../testdata/paths.js";
import { AARCH64_SYSCALLS } from "./aarch64.js";
import { ARM_SYSCALLS } from "./arm.js";
import { I386_SYSCALLS } from "./i386.js";
import { I386_MULTIPLEXED } from "./i386-multiplexed.js";
import { X32_SYSCALLS } from "./x32.js";
import { X86_64_SYSCALLS } from "./x86_64.js";

let dir = "";
let resolver = "";

before(async () => {
  if (!existsSync("/usr/include/seccomp.h")) {
    throw new Error(
      "libseccomp headers missing for the syscall table check: apt-get install -y libseccomp-dev",
    );
  }
  dir = await makeTempDir("pier-seccomp-tables-");
  resolver = join(dir, "resolve-syscalls");
  execFileSync("cc", ["-O2", "-o", resolver, seccompTestdata("resolve-syscalls.c"), "-lseccomp"]);
});

after(async () => {
  if (dir) await removeTempDir(dir);
});

function libseccomp(arch: string, names: string[]): Map<string, number | undefined> {
  const out = execFileSync(resolver, [arch], { input: names.join("\n"), encoding: "utf8" });
  const map = new Map<string, number | undefined>();
  for (const line of out.trim().split("\n")) {
    const [name, nr] = line.split(" ");
    map.set(name!, nr === "none" ? undefined : Number(nr));
  }
  return map;
}

const NEWER_THAN_LIBSECCOMP = 451;

describe("syscall tables", () => {
  for (const [arch, table, bias] of [
    ["x86_64", X86_64_SYSCALLS, 0],
    ["x86", I386_SYSCALLS, 0],
    ["x32", X32_SYSCALLS, 0x40000000],
    ["aarch64", AARCH64_SYSCALLS, 0],
    ["arm", ARM_SYSCALLS, 0],
  ] as const) {
    it(`${arch} agrees with libseccomp`, () => {
      const names = [...table.keys()];
      assert.ok(names.length > 280, `${names.length} syscalls`);
      const theirs = libseccomp(arch, names);
      const mismatches: string[] = [];
      for (const [name, nr] of table) {
        if (nr - bias >= NEWER_THAN_LIBSECCOMP) continue;
        const other = theirs.get(name);
        // libseccomp names i386's socket/IPC calls by pseudo numbers (it adds both the direct
        // syscall and the socketcall/ipc form to a filter, as pier does).
        if (arch === "x86" && I386_MULTIPLEXED.has(name) && other !== undefined && other < 0) continue;
        if (other !== nr) mismatches.push(`${name}: pier ${nr}, libseccomp ${other}`);
      }
      assert.deepEqual(mismatches, []);
    });
  }

  it("has no number twice within a table", () => {
    for (const table of [X86_64_SYSCALLS, I386_SYSCALLS, X32_SYSCALLS, AARCH64_SYSCALLS, ARM_SYSCALLS]) {
      const numbers = [...table.values()];
      assert.equal(new Set(numbers).size, numbers.length);
    }
  });
});
