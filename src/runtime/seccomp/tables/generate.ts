/**
 * Regenerates the per-architecture syscall tables (`x86_64.ts`, `i386.ts`, `x32.ts`,
 * `aarch64.ts`, `arm.ts`, and i386's `socketcall`/`ipc` call numbers in `i386-multiplexed.ts`) from the
 * kernel UAPI headers installed by Debian's `linux-libc-dev`.
 *
 * The C preprocessor resolves the headers (the x32 `__X32_SYSCALL_BIT + n` form, the generic
 * table's `__NR3264_*` indirections and its `__ARCH_WANT_*` switches), then a generated C
 * program prints every `__NR_*` value, so no header is parsed by hand.
 *
 * Run: `npx tsc -p tsconfig.json --outDir .build/x && node .build/x/runtime/seccomp/tables/generate.js`
 * (needs `cc`, `linux-libc-dev` and, for arm, `linux-libc-dev-armhf-cross`). The aarch64 switches
 * below are those of arm64's own <asm/unistd.h> (checked against `linux-libc-dev-arm64-cross`).
 * Not part of the library; nothing imports it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** How one table is produced from the headers. */
interface TableSource {
  file: string;
  constName: string;
  description: string;
  /** Lines placed before the `#include`. */
  prelude: string[];
  include: string;
  /** Extra include directories searched first (cross-architecture headers). */
  includeDirs?: string[];
  /** Header aliases left out, as libseccomp leaves them out (its tables are runc's reference). */
  aliases?: string[];
  /** Macro prefixes that name syscalls (default `__NR_`). */
  prefixes?: string[];
  /** Syscalls added to the kernel after the installed headers (number without any ABI bit). */
  later: ReadonlyArray<readonly [string, number]>;
  /** Added to `later` numbers (the x32 syscall bit). */
  laterBias: number;
}

// Numbers 451+ are shared by every architecture since the unified numbering of Linux 5.1
// (scripts/syscall.tbl, "common"); Debian 12's linux-libc-dev (6.1) stops at 450.
const LATER_COMMON: ReadonlyArray<readonly [string, number]> = [
  ["cachestat", 451],
  ["fchmodat2", 452],
  ["futex_wake", 454],
  ["futex_wait", 455],
  ["futex_requeue", 456],
  ["statmount", 457],
  ["listmount", 458],
  ["lsm_get_self_attr", 459],
  ["lsm_set_self_attr", 460],
  ["lsm_list_modules", 461],
  ["mseal", 462],
  ["setxattrat", 463],
  ["getxattrat", 464],
  ["listxattrat", 465],
  ["removexattrat", 466],
  ["open_tree_attr", 467],
  ["file_getattr", 468],
  ["file_setattr", 469],
];
// map_shadow_stack (453) exists only for 64-bit x86 and the generic 64-bit table.
const LATER_64: ReadonlyArray<readonly [string, number]> = [...LATER_COMMON, ["map_shadow_stack", 453]];

const X32_SYSCALL_BIT = 0x40000000;

const SOURCES: TableSource[] = [
  {
    file: "x86_64.ts",
    constName: "X86_64_SYSCALLS",
    description: "x86_64 (AUDIT_ARCH_X86_64, 64-bit ABI), from <asm/unistd_64.h>",
    prelude: [],
    include: "asm/unistd_64.h",
    later: LATER_64,
    laterBias: 0,
  },
  {
    file: "i386.ts",
    constName: "I386_SYSCALLS",
    description: "i386 (AUDIT_ARCH_I386), from <asm/unistd_32.h>",
    prelude: [],
    include: "asm/unistd_32.h",
    later: LATER_COMMON,
    laterBias: 0,
  },
  {
    file: "x32.ts",
    constName: "X32_SYSCALLS",
    description:
      "x32 (AUDIT_ARCH_X86_64 with the x32 bit 0x40000000 set in every number), from <asm/unistd_x32.h>",
    prelude: ["#define __X32_SYSCALL_BIT 0x40000000"],
    include: "asm/unistd_x32.h",
    later: LATER_COMMON,
    laterBias: X32_SYSCALL_BIT,
  },
  {
    file: "arm.ts",
    constName: "ARM_SYSCALLS",
    description:
      "32-bit ARM EABI (AUDIT_ARCH_ARM), from arm's <asm/unistd.h> (Debian's linux-libc-dev-armhf-cross), with the ARM-private calls (`__ARM_NR_*`)",
    prelude: ["#define __ARM_EABI__ 1"],
    include: "asm/unistd.h",
    includeDirs: ["/usr/arm-linux-gnueabihf/include"],
    prefixes: ["__NR_", "__ARM_NR_"],
    // `#define __NR_sync_file_range2 __NR_arm_sync_file_range`: libseccomp knows only the latter.
    aliases: ["sync_file_range2"],
    later: LATER_COMMON,
    laterBias: 0,
  },
  {
    file: "aarch64.ts",
    constName: "AARCH64_SYSCALLS",
    description:
      "aarch64 (AUDIT_ARCH_AARCH64), from <asm-generic/unistd.h> with arm64's __ARCH_WANT_* switches",
    // The switches arm64's own uapi <asm/unistd.h> sets before including the generic table.
    prelude: [
      "#define __ARCH_WANT_RENAMEAT",
      "#define __ARCH_WANT_NEW_STAT",
      "#define __ARCH_WANT_SET_GET_RLIMIT",
      "#define __ARCH_WANT_TIME32_SYSCALLS",
      "#define __ARCH_WANT_SYS_CLONE3",
      "#define __ARCH_WANT_MEMFD_SECRET",
    ],
    include: "asm-generic/unistd.h",
    later: LATER_64,
    laterBias: 0,
  },
];

// Macros of the generic header that look like syscalls but are not.
const NOT_SYSCALLS = new Set(["syscalls", "arch_specific_syscall"]);

// Macros of arm's header that are not calls (bases and masks).
const NOT_ARM_CALLS = new Set(["BASE", "OABI_SYSCALL_BASE", "SYSCALL_BASE", "SYSCALL_MASK"]);

function resolve(source: TableSource, work: string): Map<string, number> {
  for (const dir of source.includeDirs ?? []) {
    if (!existsSync(dir)) {
      throw new Error(`${source.file}: ${dir} is missing: apt-get install -y linux-libc-dev-armhf-cross`);
    }
  }
  const flags = (source.includeDirs ?? []).map((d) => `-I${d}`);
  const header = join(work, "h.c");
  writeFileSync(header, `${source.prelude.join("\n")}\n#include <${source.include}>\n`);
  const macros = execFileSync("cc", [...flags, "-E", "-dM", header], { encoding: "utf8" });
  const found: [string, string][] = [];
  for (const prefix of source.prefixes ?? ["__NR_"]) {
    for (const m of macros.matchAll(new RegExp(`^#define ${prefix}([A-Za-z0-9_]+)\\s`, "gm"))) {
      const name = m[1]!;
      if (NOT_SYSCALLS.has(name) || NOT_ARM_CALLS.has(name) || /[A-Z]/.test(name)) continue;
      if (source.aliases?.includes(name)) continue;
      found.push([name, `${prefix}${name}`]);
    }
  }
  const program = join(work, "p.c");
  const lines = found.map(([n, macro]) => `  printf("%s %lu\\n", "${n}", (unsigned long)(${macro}));`);
  writeFileSync(
    program,
    `#include <stdio.h>\n${source.prelude.join("\n")}\n#include <${source.include}>\nint main(void) {\n${lines.join("\n")}\n  return 0;\n}\n`,
  );
  const exe = join(work, "p");
  execFileSync("cc", [...flags, "-o", exe, program]);
  const table = new Map<string, number>();
  for (const line of execFileSync(exe, { encoding: "utf8" }).trim().split("\n")) {
    const [name, nr] = line.split(" ");
    table.set(name!, Number(nr));
  }
  for (const [name, nr] of source.later) if (!table.has(name)) table.set(name, nr + source.laterBias);
  return table;
}

function render(source: TableSource, table: Map<string, number>): string {
  const entries = [...table].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const body = entries.map(([n, nr]) => `  ["${n}", ${nr}],`).join("\n");
  return `// Generated by generate.ts from the kernel UAPI headers (linux-libc-dev); do not edit.

/** Syscall numbers by name for ${source.description}. */
export const ${source.constName}: ReadonlyMap<string, number> = new Map<string, number>([
${body}
]);
`;
}

/**
 * i386 multiplexes socket and SysV IPC calls through `socketcall(call, args)` and
 * `ipc(call, …)`; the call numbers are `SYS_*` in <linux/net.h> and `SEMOP`… in <linux/ipc.h>.
 */
function multiplexed(work: string): string {
  const header = join(work, "m.c");
  writeFileSync(header, "#include <linux/net.h>\n#include <linux/ipc.h>\n");
  const macros = execFileSync("cc", ["-E", "-dM", header], { encoding: "utf8" });
  const entries: [string, string, number][] = [];
  for (const m of macros.matchAll(/^#define SYS_([A-Z0-9]+)\s+(\d+)/gm)) {
    entries.push([m[1]!.toLowerCase(), "socketcall", Number(m[2])]);
  }
  for (const m of macros.matchAll(/^#define ((?:SEM|MSG|SHM)[A-Z]+)\s+(\d+)\s*$/gm)) {
    entries.push([m[1]!.toLowerCase(), "ipc", Number(m[2])]);
  }
  entries.sort((x, y) => x[1].localeCompare(y[1]) || x[2] - y[2]);
  const body = entries
    .map(([name, via, call]) => `  ["${name}", { via: "${via}", call: ${call} }],`)
    .join("\n");
  return `// Generated by generate.ts from <linux/net.h> and <linux/ipc.h>; do not edit.

/** How a call is reached through i386's multiplexers: \`socketcall\` or \`ipc\`, with call number \`call\` in argument 0. */
export interface MultiplexedCall {
  readonly via: "socketcall" | "ipc";
  readonly call: number;
}

/** i386 socket and SysV IPC calls by syscall name, as reached through \`socketcall\`/\`ipc\`. */
export const I386_MULTIPLEXED: ReadonlyMap<string, MultiplexedCall> = new Map<string, MultiplexedCall>([
${body}
]);
`;
}

/** Writes every table next to this script (in the source tree when run from a build dir). */
export function generateTables(outDir: string): void {
  const work = mkdtempSync(join(tmpdir(), "pier-syscalls-"));
  try {
    for (const source of SOURCES) {
      writeFileSync(join(outDir, source.file), render(source, resolve(source, work)));
    }
    writeFileSync(join(outDir, "i386-multiplexed.ts"), multiplexed(work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  generateTables(process.argv[2] ?? dirname(fileURLToPath(import.meta.url)));
}
