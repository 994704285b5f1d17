/**
 * Sends a byte range of a file as a response body through two buffers that it reuses, one
 * being read into while the other is written out.
 *
 * Why not `pipeline(createReadStream(path), res)`: a read stream allocates a fresh buffer for
 * every read, and a written buffer is garbage that V8 frees only at its next collection — which
 * an idle server's small young generation, fed by few JS objects per 256 KiB read, reaches late.
 * A `skopeo copy` pulling 1 GiB in five streams left up to 35 MiB of such buffers resident
 * (bench/registry, session 8), and the registry's peak RSS right after a pull with them. A
 * buffer is reused only once its write has called back (Node has then handed the bytes to the
 * kernel, or to TLS, which copies them), so what the client receives is what was read.
 */
import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";

/** Bytes read per chunk (the read stream's high-water mark before). */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Writes bytes `start`…`end` (inclusive) of `file` to `res` and ends it; resolves with the bytes
 * handed to the connection. When the client goes away (or the response is destroyed) it stops
 * and resolves with what was sent; when the file is shorter than `end` or a read fails, it
 * destroys the response (the client sees a cut-off body, never other bytes) and rejects.
 */
export async function sendFileRange(
  file: FileHandle,
  res: ServerResponse,
  start: number,
  end: number,
): Promise<number> {
  const total = end - start + 1;
  const size = Math.min(CHUNK_BYTES, total);
  const buffers: Buffer[] = [Buffer.allocUnsafeSlow(size)];
  // Each buffer's last write: true once it went out, false if the response closed first (Node
  // may then never call a write back).
  const writing: (Promise<boolean> | undefined)[] = [undefined, undefined];
  const settle: (((ok: boolean) => void) | undefined)[] = [undefined, undefined];
  let gone = false;
  const onClose = () => {
    gone = true;
    for (const s of settle) s?.(false);
  };
  res.once("close", onClose);
  const written = (turn: number, chunk: Buffer): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      settle[turn] = resolve;
      res.write(chunk, (err) => resolve(!err));
    });
  let sent = 0;
  let position = start;
  let turn = 0;
  try {
    while (position <= end) {
      const previous = writing[turn];
      if (previous !== undefined && !(await previous)) return sent;
      if (gone || res.destroyed) return sent;
      let buffer = buffers[turn];
      if (buffer === undefined) {
        buffer = Buffer.allocUnsafeSlow(size);
        buffers[turn] = buffer;
      }
      const want = Math.min(buffer.length, end - position + 1);
      const { bytesRead } = await file.read(buffer, 0, want, position);
      if (bytesRead === 0) throw new Error(`file ended at byte ${position}, before byte ${end}`);
      position += bytesRead;
      sent += bytesRead;
      writing[turn] = written(turn, bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      turn ^= 1;
    }
    for (const w of writing) if (w !== undefined && !(await w)) return sent;
    res.end();
    return sent;
  } catch (err) {
    res.destroy();
    throw err;
  } finally {
    res.off("close", onClose);
  }
}
