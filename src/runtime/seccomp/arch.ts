/**
 * The syscall ABIs pier can filter: their `AUDIT_ARCH_*` value (what the kernel puts in
 * `seccomp_data.arch`), their syscall table, and which `SCMP_ARCH_*` name selects them.
 *
 * x32 is its own ABI, as in libseccomp, although it shares `AUDIT_ARCH_X86_64` with x86_64:
 * the kernel tells them apart by bit 30 (`__X32_SYSCALL_BIT`) of the syscall number.
 */
import type { LinuxSeccompArch } from "../../oci/runtime-spec/seccomp.js";
import { SeccompError } from "./error.js";
import { AARCH64_SYSCALLS } from "./tables/aarch64.js";
import { ARM_SYSCALLS } from "./tables/arm.js";
import { I386_SYSCALLS } from "./tables/i386.js";
import { I386_MULTIPLEXED, type MultiplexedCall } from "./tables/i386-multiplexed.js";
import { X32_SYSCALLS } from "./tables/x32.js";
import { X86_64_SYSCALLS } from "./tables/x86_64.js";

// linux/audit.h: EM_* | __AUDIT_ARCH_64BIT (0x80000000) | __AUDIT_ARCH_LE (0x40000000).
/** `AUDIT_ARCH_X86_64` (EM_X86_64 = 62). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** `AUDIT_ARCH_I386` (EM_386 = 3). */
export const AUDIT_ARCH_I386 = 0x40000003;
/** `AUDIT_ARCH_AARCH64` (EM_AARCH64 = 183). */
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
/** `AUDIT_ARCH_ARM` (EM_ARM = 40, little-endian, 32-bit). */
export const AUDIT_ARCH_ARM = 0x40000028;
/** Bit 30 of the syscall number marks an x32 syscall on x86_64. */
export const X32_SYSCALL_BIT = 0x40000000;

/** A syscall ABI pier has a table for. */
export interface SeccompAbi {
  /** pier's short name. */
  readonly name: "x86_64" | "x32" | "i386" | "aarch64" | "arm";
  readonly scmpArch: LinuxSeccompArch;
  readonly auditArch: number;
  /** Syscall numbers by name (x32 numbers include {@link X32_SYSCALL_BIT}). */
  readonly table: ReadonlyMap<string, number>;
  /** Argument width: libseccomp compares only the low 32 bits on 32-bit ABIs (i386, x32). */
  readonly bits: 32 | 64;
  /** Calls also reachable through a multiplexer syscall (i386's `socketcall` and `ipc`). */
  readonly multiplexed?: ReadonlyMap<string, MultiplexedCall>;
  /** The syscall numbers this ABI owns inside its `auditArch`: [low, high], inclusive. */
  readonly range: readonly [number, number];
}

/** Every ABI with a syscall table, in the order pier checks them after the native one. */
export const SECCOMP_ABIS: readonly SeccompAbi[] = [
  {
    name: "x86_64",
    scmpArch: "SCMP_ARCH_X86_64",
    auditArch: AUDIT_ARCH_X86_64,
    table: X86_64_SYSCALLS,
    bits: 64,
    range: [0, X32_SYSCALL_BIT - 1],
  },
  {
    name: "x32",
    scmpArch: "SCMP_ARCH_X32",
    auditArch: AUDIT_ARCH_X86_64,
    table: X32_SYSCALLS,
    bits: 32,
    range: [X32_SYSCALL_BIT, 0xffffffff],
  },
  {
    name: "i386",
    scmpArch: "SCMP_ARCH_X86",
    auditArch: AUDIT_ARCH_I386,
    table: I386_SYSCALLS,
    bits: 32,
    multiplexed: I386_MULTIPLEXED,
    range: [0, 0xffffffff],
  },
  {
    name: "aarch64",
    scmpArch: "SCMP_ARCH_AARCH64",
    auditArch: AUDIT_ARCH_AARCH64,
    table: AARCH64_SYSCALLS,
    bits: 64,
    range: [0, 0xffffffff],
  },
  {
    name: "arm",
    scmpArch: "SCMP_ARCH_ARM",
    auditArch: AUDIT_ARCH_ARM,
    table: ARM_SYSCALLS,
    bits: 32,
    range: [0, 0xffffffff],
  },
];

/** The ABI selected by an `SCMP_ARCH_*` name, or undefined when pier has no table for it. */
export function abiForScmpArch(arch: LinuxSeccompArch): SeccompAbi | undefined {
  return SECCOMP_ABIS.find((a) => a.scmpArch === arch);
}

// Names accepted for the native architecture: Node's process.arch, uname -m, Go/OCI, SCMP_ARCH_*.
const NATIVE_ALIASES: Record<string, SeccompAbi["name"]> = {
  x64: "x86_64",
  x86_64: "x86_64",
  amd64: "x86_64",
  SCMP_ARCH_X86_64: "x86_64",
  arm64: "aarch64",
  aarch64: "aarch64",
  SCMP_ARCH_AARCH64: "aarch64",
  arm: "arm",
  armv7l: "arm",
  SCMP_ARCH_ARM: "arm",
};

/**
 * The native ABI for an architecture name (`x64`, `x86_64`, `amd64`, `arm64`, `aarch64`, `arm`
 * or the `SCMP_ARCH_*` name); defaults to this process's architecture. Like libseccomp, a filter always
 * covers the native ABI. Throws `UNSUPPORTED_ARCH` for a host pier has no table for.
 */
export function nativeAbi(arch: string = process.arch): SeccompAbi {
  const name = NATIVE_ALIASES[arch];
  const abi = name === undefined ? undefined : SECCOMP_ABIS.find((a) => a.name === name);
  if (abi === undefined) {
    throw new SeccompError(
      "UNSUPPORTED_ARCH",
      `seccomp: no syscall table for native architecture ${JSON.stringify(arch)}`,
    );
  }
  return abi;
}
