import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { StreamingListener } from "./listener.js";

/** The raw answer to one HTTP/1.1 request sent on a fresh connection. */
function ask(baseUrl: string, head: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const c = connect(Number(port), hostname);
    let out = "";
    c.on("data", (b) => {
      out += b.toString();
    });
    c.on("error", reject);
    c.on("close", () => resolve(out));
    c.write(`${head}Host: ${hostname}\r\nConnection: close\r\n\r\n`);
  });
}

test("streaming listener: 404 for requests and upgrades until a server takes it over, then that server's answers", async (t) => {
  const listener = await StreamingListener.listen();
  t.after(() => listener.close());
  assert.match(listener.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const plain = await ask(listener.baseUrl, "GET /exec/abc HTTP/1.1\r\n");
  assert.match(plain, /^HTTP\/1\.1 404 /);
  assert.match(plain, /404 page not found/);
  const upgrade = await ask(
    listener.baseUrl,
    "GET /exec/abc HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
  );
  assert.match(upgrade, /^HTTP\/1\.1 404 Not Found\r\n/);

  const server = listener.take();
  server.on("request", (_req, res) => res.writeHead(418).end("taken\n"));
  const taken = await ask(listener.baseUrl, "GET /exec/abc HTTP/1.1\r\n");
  assert.match(taken, /^HTTP\/1\.1 418 /);
  assert.doesNotMatch(taken, /404/);
  assert.throws(() => listener.take(), /already taken/);
});

test("streaming listener: an address in use is refused naming it", async (t) => {
  const first = await StreamingListener.listen();
  t.after(() => first.close());
  const address = first.baseUrl.replace(/^http:\/\//, "");
  await assert.rejects(StreamingListener.listen(address), (e: Error) => e.message.includes(address));
});
