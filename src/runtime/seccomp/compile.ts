/**
 * pier's seccomp compiler: runtime-spec `linux.seccomp` → classic BPF bytes for
 * `seccomp(SECCOMP_SET_MODE_FILTER)`, written in TypeScript without libseccomp.
 *
 * @example
 * ```ts
 * const seccomp = validateLinuxSeccomp(config.linux.seccomp);
 * const { program, flags, notify } = compileSeccompFilter(seccomp);
 * // hand `program` and `flags` to the native helper, which loads them right before execve
 * ```
 */
import type { LinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { BPF_MAXINSNS, encodeProgram } from "./bpf.js";
import { generateProgram } from "./codegen.js";
import { SeccompError } from "./error.js";
import { decidePolicy } from "./policy.js";

/** Options of {@link compileSeccompFilter}. */
export interface CompileOptions {
  /**
   * The host architecture (`x64`/`x86_64`/`amd64`, `arm64`/`aarch64`, or `SCMP_ARCH_*`);
   * defaults to `process.arch`. The filter always covers it, as libseccomp's does.
   */
  nativeArch?: string;
  /** Receives debug notes (ignored syscall names and architectures), as runc logs at debug. */
  debug?: (message: string) => void;
}

/** A compiled filter, ready for the native helper. */
export interface CompiledSeccompFilter {
  /** `struct sock_filter[]` in host byte order (8 bytes per instruction). */
  program: Buffer;
  /** Flags for `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`; includes NEW_LISTENER when `notify`. */
  flags: number;
  /** Number of instructions (`program.length / 8`), at most 4096 (BPF_MAXINSNS). */
  instructionCount: number;
  /** True when the profile uses SCMP_ACT_NOTIFY: the load returns a listener fd to hand over. */
  notify: boolean;
}

/**
 * Compiles a validated `linux.seccomp` object (see `validateLinuxSeccomp`) into a seccomp BPF
 * program. Pure: no I/O. Semantics (bad-arch action, x32, unknown names, rule precedence, the
 * -ENOSYS stub for syscalls newer than the profile) follow runc + libseccomp; see policy.ts.
 *
 * Loading contract for the runtime's helper (as runc does it):
 * - Load it in the container's init process, after every setup step, as close to `execve` as
 *   possible, so the filter governs the container's program and not the runtime's own work;
 *   `execve` itself must be allowed by the profile (it is in Docker's).
 * - The kernel accepts the filter only with `no_new_privs` set or `CAP_SYS_ADMIN` in the
 *   process's user namespace. With `process.noNewPrivileges`: set
 *   `prctl(PR_SET_NO_NEW_PRIVS, 1)` and load right before `execve`. Without it: load while the
 *   process still holds CAP_SYS_ADMIN, i.e. before dropping capabilities and switching user;
 *   the syscalls of those remaining steps must then pass the filter too (runc has the same order).
 * - With `flags === 0` the helper may use `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)`;
 *   otherwise it must call `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`, where
 *   `prog = { .len = instructionCount, .filter = program }`.
 * - When `notify` is true, `flags` contains SECCOMP_FILTER_FLAG_NEW_LISTENER and the call
 *   returns a listener fd. The runtime must then, as runc does, connect to the `AF_UNIX`
 *   `SOCK_STREAM` socket at `linux.seccomp.listenerPath`, send exactly one container process
 *   state JSON (`ociVersion`, `fds: ["seccompFd"]`, `pid`, `metadata: listenerMetadata`,
 *   `state`) with the fd attached by `SCM_RIGHTS`, close the connection and its copy of the fd.
 *   A failed send is a runtime error. `write` is never NOTIFY (refused at compile time), so the
 *   helper can still report the fd to its parent after loading.
 *
 * Throws `SeccompError`: `INVALID_PROFILE`, `UNSUPPORTED_ARCH`, `PROGRAM_TOO_LARGE`.
 */
export function compileSeccompFilter(
  seccomp: LinuxSeccomp,
  options: CompileOptions = {},
): CompiledSeccompFilter {
  const policy = decidePolicy(
    seccomp,
    options.nativeArch === undefined ? {} : { nativeArch: options.nativeArch },
  );
  if (options.debug) for (const note of policy.notes) options.debug(`seccomp: ${note}`);
  const instructions = generateProgram(policy);
  if (instructions.length > BPF_MAXINSNS) {
    throw new SeccompError(
      "PROGRAM_TOO_LARGE",
      `seccomp: the compiled filter has ${instructions.length} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
      { detail: { instructionCount: instructions.length } },
    );
  }
  return {
    program: encodeProgram(instructions),
    flags: policy.flags,
    instructionCount: instructions.length,
    notify: policy.notify,
  };
}
