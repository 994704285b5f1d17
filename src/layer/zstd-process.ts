/**
 * zstd decompression in a `zstd` child process when the binary is installed, as GNU tar does
 * it: the decompressor then runs on its own CPU instead of the thread that applies files
 * (zstd-napi's streams run on the calling thread). Compression stays in zstd-napi, whose
 * output does not depend on which zstd the host has.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { LayerError } from "./error.js";

const ZSTD_BIN = "/usr/bin/zstd";

/** True when the system zstd binary can be used. */
export function hasZstdBinary(): boolean {
  return existsSync(ZSTD_BIN);
}

/**
 * Pipes `input` through `zstd -d` and returns the output. The output ends only after zstd
 * exited successfully; a failure (truncated or corrupt input) fails it with `LayerError`
 * `CORRUPT_STREAM` and zstd's message. Destroying the output kills the process.
 */
export function zstdProcessDecompress(input: Readable): Readable {
  const child = spawn(ZSTD_BIN, ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = "";
  let failure: Error | undefined;
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  child.stdin.on("error", () => {
    // EPIPE when zstd stops early: its exit status tells why.
  });
  input.on("error", (err) => {
    failure = err;
    child.kill();
  });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on("error", (err) =>
    out.destroy(new LayerError("CORRUPT_STREAM", `cannot run ${ZSTD_BIN}: ${err.message}`, { cause: err })),
  );
  child.on("close", (code) => {
    if (failure) out.destroy(failure);
    else if (code === 0) out.end();
    else
      out.destroy(
        new LayerError(
          "CORRUPT_STREAM",
          `zstd stream is corrupt or truncated: ${stderr.trim() || `zstd exited with ${code}`}`,
        ),
      );
  });
  out.on("close", () => {
    if (child.exitCode === null) child.kill();
  });
  return out;
}
