/**
 * Reading simple signatures from a lookaside (`lookaside:`/`sigstore:` in registries.d), laid out
 * as c/image writes them: `BASE/<repository>@<alg>=<hex>/signature-<n>`, n from 1 until the
 * first absent one. Only `file://` URLs are read (pier works offline); others are refused.
 */
import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { isErrno } from "../errors.js";
import { type Digest, digestHex, parseDigest } from "../oci/digest.js";
import type { Reference } from "../oci/reference.js";
import { TrustError } from "./error.js";
import { MAX_PAYLOAD_BYTES } from "./payload.js";
import { MAX_SIGNATURES } from "./signature.js";

/** The directory of `digest`'s signatures under a lookaside base URL (file:// only). */
export function lookasideDir(base: string, ref: Reference, digest: Digest): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TrustError("INVALID_POLICY", `lookaside ${JSON.stringify(base)} is not a URL`);
  }
  if (url.protocol !== "file:") {
    throw new TrustError(
      "UNSUPPORTED",
      `lookaside ${base}: only file:// lookasides are supported (pier reads no signatures over ${url.protocol.replace(":", "")})`,
    );
  }
  const root = fileURLToPath(url).replace(/\/+$/, "");
  return `${root}/${ref.repository}@${parseDigest(digest).algorithm}=${digestHex(digest)}`;
}

/** Every signature stored for `digest` under the lookaside `base` (bounded in count and size). */
export async function readLookasideSignatures(
  base: string,
  ref: Reference,
  digest: Digest,
): Promise<Buffer[]> {
  const dir = lookasideDir(base, ref, digest);
  const out: Buffer[] = [];
  for (let n = 1; n <= MAX_SIGNATURES; n++) {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(`${dir}/signature-${n}`, "r");
    } catch (err) {
      if (isErrno(err, "ENOENT")) break;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (size > MAX_PAYLOAD_BYTES) {
        throw new TrustError(
          "INVALID_SIGNATURE",
          `${dir}/signature-${n}: larger than ${MAX_PAYLOAD_BYTES} bytes`,
        );
      }
      out.push(await fh.readFile());
    } finally {
      await fh.close();
    }
  }
  return out;
}
