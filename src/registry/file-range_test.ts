import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { open, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { CHUNK_BYTES, sendFileRange } from "./file-range.js";

let dir: string;
let path: string;
// Larger than loopback's socket buffers, so that writes wait on a slow reader.
const data = randomBytes(24 * 1024 * 1024 + 12345);
before(async () => {
  dir = await makeTempDir("pier-file-range-test-");
  path = join(dir, "blob");
  await writeFile(path, data);
});
after(() => removeTempDir(dir));

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A server answering every request with `range` of the file; `results` collects each send's outcome. */
async function serve(
  range: (req: IncomingMessage) => [number, number],
): Promise<{ server: Server; port: number; results: Promise<number | Error>[] }> {
  const results: Promise<number | Error>[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const [start, end] = range(req);
    res.writeHead(200, { "Content-Length": end - start + 1 });
    results.push(
      (async () => {
        const file = await open(path, "r");
        try {
          return await sendFileRange(file, res, start, end);
        } catch (err) {
          return err as Error;
        } finally {
          await file.close();
        }
      })(),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, results };
}

/** A raw GET whose reader stalls for `stallMs` after the first bytes, then reads everything. */
function slowGet(port: number, stallMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1", () =>
      sock.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    const parts: Buffer[] = [];
    let stalled = false;
    sock.on("data", (d: Buffer) => {
      parts.push(d);
      if (!stalled) {
        stalled = true;
        sock.pause();
        setTimeout(() => sock.resume(), stallMs);
      }
    });
    sock.on("end", () => {
      const all = Buffer.concat(parts);
      resolve(all.subarray(all.indexOf("\r\n\r\n") + 4));
    });
    sock.on("error", reject);
  });
}

test("a whole file and ranges across chunk boundaries arrive byte for byte, to a reader that stalls (buffers are reused only once written)", async () => {
  const ranges: [number, number][] = [
    [0, data.length - 1],
    [CHUNK_BYTES - 7, 3 * CHUNK_BYTES + 11],
    [5, 5],
    [data.length - 100, data.length - 1],
  ];
  let next = 0;
  const { server, port, results } = await serve(() => ranges[next++]!);
  try {
    for (const [start, end] of ranges) {
      const body = await slowGet(port, 300);
      assert.equal(body.length, end - start + 1);
      assert.equal(sha(body), sha(data.subarray(start, end + 1)), `range ${start}-${end}`);
    }
    assert.deepEqual(
      await Promise.all(results),
      ranges.map(([s, e]) => e - s + 1),
    );
  } finally {
    server.close();
  }
});

test("a client that goes away mid-body ends the send (no wait on writes Node never calls back)", async () => {
  const { server, port, results } = await serve(() => [0, data.length - 1]);
  try {
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1", () => sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      let got = 0;
      sock.on("data", (d: Buffer) => {
        got += d.length;
        if (got > 1 << 20) {
          sock.destroy();
          resolve();
        }
      });
      sock.on("error", reject);
    });
    const sent = await results[0]!;
    assert.equal(typeof sent, "number");
    assert.ok((sent as number) < data.length, `sent ${sent as number} of ${data.length}`);
  } finally {
    server.close();
  }
});

test("a file shorter than the range cuts the response off and rejects, naming where it ended", async () => {
  const { server, port, results } = await serve(() => [data.length - 10, data.length + 99]);
  try {
    const body = await new Promise<Buffer>((resolve) => {
      const sock = connect(port, "127.0.0.1", () => sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const parts: Buffer[] = [];
      sock.on("data", (d: Buffer) => parts.push(d));
      sock.on("close", () => resolve(Buffer.concat(parts)));
    });
    // The 10 bytes there are, then the connection closes: never a complete-looking answer.
    assert.equal(sha(body.subarray(body.indexOf("\r\n\r\n") + 4)), sha(data.subarray(data.length - 10)));
    const outcome = await results[0]!;
    assert.ok(outcome instanceof Error);
    assert.match(outcome.message, new RegExp(`file ended at byte ${data.length}`));
  } finally {
    server.close();
  }
});
