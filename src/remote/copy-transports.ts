/**
 * `copy(src, dst)` over transport strings, as `pier copy SRC DST` and skopeo take them.
 */
import { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
import { type OpenOptions, openDestination, openSource } from "./transports/open.js";

/**
 * Copies between two transport strings (`docker://…`, `oci:DIR[:NAME]`, `oci-archive:FILE`,
 * `docker-archive:FILE[:REF]`, a bare reference for pier's store). Digests are preserved.
 */
export async function copy(
  src: string,
  dst: string,
  opts: OpenOptions & CopyOptions = {},
): Promise<CopyResult> {
  const s = await openSource(src, opts);
  try {
    const d = await openDestination(dst, opts);
    try {
      return await copyImage(s, d, opts);
    } finally {
      await d.close();
    }
  } finally {
    await s.close();
  }
}
