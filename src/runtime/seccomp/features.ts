/**
 * What `pier-runtime features` reports for seccomp (runtime-spec features-linux.md, "Seccomp"):
 * the names pier's compiler really implements, sorted as runc sorts them.
 *
 * - `actions`, `operators`: every name of the spec; all are compiled (policy.ts).
 * - `archs`: only the architectures pier has syscall tables for. Others are accepted in a
 *   profile but filtered as "bad architecture", so pier does not claim them.
 * - `knownFlags`: every flag of the spec; `supportedFlags`: those the running kernel accepts,
 *   decided by the kernel version that introduced each (seccomp(2)).
 */
import { release } from "node:os";
import {
  type LinuxSeccompFlag,
  SECCOMP_ACTIONS,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from "../../oci/runtime-spec/seccomp.js";
import { SECCOMP_ABIS } from "./arch.js";

/** The `linux.seccomp` object of the runtime features document. */
export interface LinuxSeccompFeatures {
  enabled: boolean;
  actions: string[];
  operators: string[];
  archs: string[];
  knownFlags: string[];
  supportedFlags: string[];
}

// Kernel version that introduced each filter flag (seccomp(2)).
const FLAG_SINCE: Record<LinuxSeccompFlag, readonly [number, number]> = {
  SECCOMP_FILTER_FLAG_TSYNC: [3, 17],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [5, 19],
};

/** Parses `major.minor` from a kernel release such as `6.1.0-18-amd64`; undefined if it has none. */
export function parseKernelVersion(kernelRelease: string): readonly [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The seccomp features for a kernel release (default: this host's `uname -r`). Pure apart from
 * reading the release; an unparsable release yields no `supportedFlags`.
 */
export function seccompFeatures(kernelRelease: string = release()): LinuxSeccompFeatures {
  const version = parseKernelVersion(kernelRelease);
  const supported = SECCOMP_FLAGS.filter((flag) => {
    if (version === undefined) return false;
    const [major, minor] = FLAG_SINCE[flag];
    return version[0] > major || (version[0] === major && version[1] >= minor);
  });
  return {
    enabled: true,
    actions: [...SECCOMP_ACTIONS].sort(),
    operators: [...SECCOMP_OPERATORS].sort(),
    archs: [...new Set(SECCOMP_ABIS.map((a) => a.scmpArch))].sort(),
    knownFlags: [...SECCOMP_FLAGS].sort(),
    supportedFlags: supported.sort(),
  };
}
