import { PierError } from "../../errors.js";

/** Codes of {@link CgroupError}. */
export type CgroupErrorCode =
  /** A `cgroupsPath` (or container id used as one) that is malformed or leaves its hierarchy. */
  | "INVALID_PATH"
  /** No cgroup filesystem is mounted, or `/proc/self/mountinfo` cannot be read. */
  | "NO_CGROUP_MOUNT"
  /** The configuration asks for a controller or feature this host's cgroups do not offer. */
  | "UNSUPPORTED"
  /** A control file could not be written (the kernel refused the value). */
  | "WRITE_FAILED"
  /** A control file could not be read or parsed. */
  | "READ_FAILED"
  /** `checkBeforeUpdate`: the new memory limit is below current usage. */
  | "LIMIT_BELOW_USAGE"
  /** The cgroup still has processes (or children) and cannot be removed. */
  | "BUSY"
  /** Freezing or thawing did not settle in time. */
  | "FREEZE_TIMEOUT"
  /** The cgroup does not exist (it was never created or is already gone). */
  | "NOT_FOUND";

/** Error of the cgroup library (`src/runtime/cgroups`). */
export class CgroupError extends PierError {
  declare readonly code: CgroupErrorCode;
  constructor(
    code: CgroupErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
