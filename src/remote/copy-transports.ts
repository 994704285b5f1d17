/**
 * `copy(src, dst)` over transport strings, as `pier copy SRC DST` and skopeo take them.
 */
import { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
import { type OpenOptions, openTransport } from "./transports/open.js";

/** Copies between two transport strings (`docker://…`, `oci:DIR[:NAME]`, a store reference). */
export async function copy(
  src: string,
  dst: string,
  opts: OpenOptions & CopyOptions = {},
): Promise<CopyResult> {
  const s = await openTransport(src, opts);
  try {
    const d = await openTransport(dst, opts);
    try {
      return await copyImage(s, d, opts);
    } finally {
      await d.close();
    }
  } finally {
    await s.close();
  }
}
