import { PierError } from "../errors.js";

/** The error codes of distribution-spec 1.1 (`spec.md`, "Error Codes"), spelled as the spec spells them. */
export type RegistryErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  // Not in the spec's list (which covers 4XX answers): distribution's code for a server failure.
  | "UNKNOWN";

/** The HTTP status each code is answered with unless a handler says otherwise (as distribution answers). */
export const REGISTRY_ERROR_STATUS: Readonly<Record<RegistryErrorCode, number>> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
};

/**
 * Error of the registry server (`src/registry`). Its `code` is a distribution-spec error code, and
 * `status` the HTTP status it is answered with; {@link errorBody} renders the spec's JSON body.
 * `headers` carries what the response must also say (`WWW-Authenticate`, `Range`, `Location`).
 */
export class RegistryError extends PierError {
  declare readonly code: RegistryErrorCode;
  /** HTTP status of the response. */
  readonly status: number;
  /** Extra response headers (e.g. the auth challenge). */
  readonly headers?: Readonly<Record<string, string>>;

  constructor(
    code: RegistryErrorCode,
    message: string,
    options?: {
      status?: number;
      cause?: unknown;
      detail?: Record<string, unknown>;
      headers?: Record<string, string>;
    },
  ) {
    super(code, message, options);
    this.status = options?.status ?? REGISTRY_ERROR_STATUS[code];
    if (options?.headers) this.headers = options.headers;
  }
}

/** The spec's error body (`{"errors":[{code,message,detail}]}`) for one error, as a JSON string. */
export function errorBody(err: RegistryError): string {
  return JSON.stringify({ errors: [{ code: err.code, message: err.message, detail: err.detail ?? {} }] });
}
