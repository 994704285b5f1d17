import { PierError } from "../errors.js";

/** Codes of {@link TrustError}: signing, verification and trust policy problems. */
export type TrustErrorCode =
  /** The trust policy refused the image (the message names the rule and why). */
  | "POLICY_DENIED"
  /** A policy.json or registries.d file is malformed or names something pier does not support. */
  | "INVALID_POLICY"
  /** A key file is unreadable, of the wrong type, or the passphrase does not open it. */
  | "INVALID_KEY"
  /** A signature or attestation exists but does not verify. */
  | "INVALID_SIGNATURE"
  /** No signature (or attestation) was found where one was looked for. */
  | "NO_SIGNATURE"
  /** A configuration pier knowingly does not implement (named in the message). */
  | "UNSUPPORTED";

/** Error of the signature and trust layer (`src/trust`). */
export class TrustError extends PierError {
  declare readonly code: TrustErrorCode;
  constructor(
    code: TrustErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
