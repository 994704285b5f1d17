/**
 * The runtime-spec `linux.seccomp` object (config-linux.md, "Seccomp"): its TypeScript shape,
 * the closed lists of names the spec allows, and the validation of untrusted JSON into it.
 *
 * Validation follows the spec and runc: unknown action, operator, architecture or flag names are
 * refused; `errnoRet`/`defaultErrnoRet` are only allowed with `SCMP_ACT_ERRNO` and
 * `SCMP_ACT_TRACE` (the spec says the runtime MUST fail otherwise); `listenerMetadata` needs
 * `listenerPath`. Syscall names are not checked here: which names exist depends on the
 * architecture, and runc ignores names it does not know.
 *
 * @example
 * ```ts
 * const seccomp = validateLinuxSeccomp(config.linux?.seccomp);
 * // throws OciError INVALID_DOCUMENT:
 * //   linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"
 * ```
 */
import { arrayAt, invalidAt, objectAt, present, stringAt } from "./json-checks.js";

/** Seccomp actions as libseccomp names them (runtime-spec 1.3.0 list). */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;
/** One of {@link SECCOMP_ACTIONS}. */
export type LinuxSeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** Argument comparison operators as libseccomp names them. */
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
] as const;
/** One of {@link SECCOMP_OPERATORS}. */
export type LinuxSeccompOperator = (typeof SECCOMP_OPERATORS)[number];

/** Architectures as libseccomp names them (runtime-spec 1.3.0 list, libseccomp 2.6.0). */
export const SECCOMP_ARCHITECTURES = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
] as const;
/** One of {@link SECCOMP_ARCHITECTURES}. */
export type LinuxSeccompArch = (typeof SECCOMP_ARCHITECTURES)[number];

/** `seccomp(2)` filter flags the spec allows in `flags`. */
export const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;
/** One of {@link SECCOMP_FLAGS}. */
export type LinuxSeccompFlag = (typeof SECCOMP_FLAGS)[number];

/** One argument condition (`syscalls[].args[]`). Values are unsigned 64-bit, held as bigint. */
export interface LinuxSeccompArg {
  /** Argument index, 0..5. */
  index: number;
  value: bigint;
  /** Only meaningful for `SCMP_CMP_MASKED_EQ` (the expected value after masking with `value`). */
  valueTwo?: bigint;
  op: LinuxSeccompOperator;
}

/**
 * The JSON keys of {@link LinuxSeccompArg}'s uint64 values: a reader keeps integers there exact
 * beyond 2^53 (see `oci/exact-json.ts`).
 */
export const SECCOMP_VALUE_KEYS: ReadonlySet<string> = new Set(["value", "valueTwo"]);

/** One rule (`syscalls[]`): the named syscalls get `action` when every condition in `args` holds. */
export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

/** The validated `linux.seccomp` object. */
export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: LinuxSeccompArch[];
  flags?: LinuxSeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

/** Actions that carry a 16-bit value (`errnoRet`) in the filter's return value. */
export function actionTakesErrno(action: LinuxSeccompAction): boolean {
  return action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE";
}

const UINT64_MAX = (1n << 64n) - 1n;
// seccomp's SECCOMP_RET_DATA is 16 bits; libseccomp takes the errno as int16.
const ERRNO_MAX = 0xffff;

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], what: string): T {
  const s = stringAt(value, path);
  if (!(allowed as readonly string[]).includes(s)) invalidAt(path, `unknown ${what} ${JSON.stringify(s)}`);
  return s as T;
}

function errnoAt(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > ERRNO_MAX) {
    invalidAt(path, `must be an integer from 0 to ${ERRNO_MAX}`);
  }
  return value as number;
}

/**
 * A uint64 from JSON. Accepts a JSON number (exact up to 2^53) or a bigint (from a parser that
 * keeps big integers); a number beyond 2^53 has already lost precision, so it is refused rather
 * than silently compared against a different value.
 */
function uint64At(value: unknown, path: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value > UINT64_MAX) invalidAt(path, "must be an unsigned 64-bit integer");
    return value;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    invalidAt(path, "must be an unsigned 64-bit integer");
  }
  if (!Number.isSafeInteger(value))
    invalidAt(path, "is above 2^53 and cannot be represented exactly in JSON numbers");
  return BigInt(value);
}

function validateArg(value: unknown, path: string): LinuxSeccompArg {
  const o = objectAt(value, path);
  if (!present(o, "index")) invalidAt(`${path}.index`, "required field is missing");
  const index = o.index;
  if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) > 5) {
    invalidAt(`${path}.index`, "must be an integer from 0 to 5 (a syscall has at most six arguments)");
  }
  if (!present(o, "value")) invalidAt(`${path}.value`, "required field is missing");
  if (!present(o, "op")) invalidAt(`${path}.op`, "required field is missing");
  const arg: LinuxSeccompArg = {
    index: index as number,
    value: uint64At(o.value, `${path}.value`),
    op: oneOf(o.op, `${path}.op`, SECCOMP_OPERATORS, "operator"),
  };
  if (present(o, "valueTwo")) arg.valueTwo = uint64At(o.valueTwo, `${path}.valueTwo`);
  return arg;
}

function validateSyscall(value: unknown, path: string): LinuxSyscall {
  const o = objectAt(value, path);
  if (!present(o, "names")) invalidAt(`${path}.names`, "required field is missing");
  const names = arrayAt(o.names, `${path}.names`).map((n, i) => {
    const name = stringAt(n, `${path}.names[${i}]`);
    if (name === "") invalidAt(`${path}.names[${i}]`, "must not be empty");
    return name;
  });
  if (names.length === 0) invalidAt(`${path}.names`, "must contain at least one syscall name");
  if (!present(o, "action")) invalidAt(`${path}.action`, "required field is missing");
  const rule: LinuxSyscall = { names, action: oneOf(o.action, `${path}.action`, SECCOMP_ACTIONS, "action") };
  if (present(o, "errnoRet")) {
    rule.errnoRet = errnoAt(o.errnoRet, `${path}.errnoRet`);
    if (!actionTakesErrno(rule.action)) {
      invalidAt(
        `${path}.errnoRet`,
        `not allowed with ${rule.action} (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one)`,
      );
    }
  }
  if (present(o, "args")) {
    rule.args = arrayAt(o.args, `${path}.args`).map((a, i) => validateArg(a, `${path}.args[${i}]`));
  }
  return rule;
}

/**
 * Checks an already-decoded value as the `linux.seccomp` object and returns a typed copy
 * (argument values as bigint). Throws `OciError` `INVALID_DOCUMENT` whose message starts with
 * the path of the offending field, e.g.
 * `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
 */
export function validateLinuxSeccomp(value: unknown, path = "linux.seccomp"): LinuxSeccomp {
  const o = objectAt(value, path);
  if (!present(o, "defaultAction")) invalidAt(`${path}.defaultAction`, "required field is missing");
  const out: LinuxSeccomp = {
    defaultAction: oneOf(o.defaultAction, `${path}.defaultAction`, SECCOMP_ACTIONS, "action"),
  };
  if (present(o, "defaultErrnoRet")) {
    out.defaultErrnoRet = errnoAt(o.defaultErrnoRet, `${path}.defaultErrnoRet`);
    if (!actionTakesErrno(out.defaultAction)) {
      invalidAt(
        `${path}.defaultErrnoRet`,
        `not allowed with ${out.defaultAction} (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one)`,
      );
    }
  }
  if (present(o, "architectures")) {
    out.architectures = arrayAt(o.architectures, `${path}.architectures`).map((a, i) =>
      oneOf(a, `${path}.architectures[${i}]`, SECCOMP_ARCHITECTURES, "architecture"),
    );
  }
  if (present(o, "flags")) {
    out.flags = arrayAt(o.flags, `${path}.flags`).map((f, i) =>
      oneOf(f, `${path}.flags[${i}]`, SECCOMP_FLAGS, "flag"),
    );
  }
  if (present(o, "listenerPath")) {
    out.listenerPath = stringAt(o.listenerPath, `${path}.listenerPath`);
    if (out.listenerPath === "") invalidAt(`${path}.listenerPath`, "must not be empty");
  }
  if (present(o, "listenerMetadata")) {
    out.listenerMetadata = stringAt(o.listenerMetadata, `${path}.listenerMetadata`);
    if (out.listenerPath === undefined)
      invalidAt(`${path}.listenerMetadata`, "must not be set without listenerPath");
  }
  if (present(o, "syscalls")) {
    out.syscalls = arrayAt(o.syscalls, `${path}.syscalls`).map((s, i) =>
      validateSyscall(s, `${path}.syscalls[${i}]`),
    );
  }
  return out;
}
