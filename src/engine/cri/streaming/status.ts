/**
 * What the error stream carries at the end of an exec or attach, as the kubelet writes it: in
 * protocol v4 and later a `metav1.Status` JSON (`Success`, or `Failure` with reason
 * `NonZeroExitCode` and the exit code as an `ExitCode` cause, or `InternalError`); before v4
 * only a failure's message, as text. Pure.
 */

/** The result of a remote command. */
export type CommandResult = { exitCode: number } | { error: string };

/** The `metav1.Status` document of `result`. */
export function statusDocument(result: CommandResult): Record<string, unknown> {
  if ("error" in result)
    return {
      metadata: {},
      status: "Failure",
      message: `Internal error occurred: ${result.error}`,
      reason: "InternalError",
      details: { causes: [{ message: result.error }] },
      code: 500,
    };
  if (result.exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${result.exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(result.exitCode) }] },
  };
}

/**
 * The bytes of the error stream for `result` under `version` of the remote command protocol
 * (4 and 5: the status JSON; 1 to 3: a failure's message, nothing on success).
 */
export function errorStreamBytes(result: CommandResult, version: number): Buffer {
  const doc = statusDocument(result);
  if (version >= 4) return Buffer.from(JSON.stringify(doc));
  return doc.status === "Success" ? Buffer.alloc(0) : Buffer.from(String(doc.message));
}
