/**
 * A refused connection: not retried to an origin that never answered (docker fails such a pull
 * at once), retried to one that answered before (a registry restarting). Real sockets on loopback.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { HttpClient } from "./http.js";

const policy = { retries: 2, baseDelayMs: 1, maxDelayMs: 1 };

test("a refused connection is retried only to an origin that answered before", async () => {
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`;
  const retries: string[] = [];
  const client = new HttpClient({ retry: policy, onRetry: (i) => retries.push(i.reason) });
  try {
    const res = await client.send({ method: "GET", url });
    assert.equal(await res.body.text(), "ok");
    await new Promise<void>((r) => server.close(() => r()));
    await client.destroy();
    const again = new HttpClient({ retry: policy, onRetry: (i) => retries.push(`fresh: ${i.reason}`) });
    // A client that never reached it: one attempt, the error names the refusal.
    await assert.rejects(again.send({ method: "GET", url }), /ECONNREFUSED/);
    assert.equal(retries.length, 0, retries.join("; "));
    await again.close();
  } finally {
    server.close();
  }
  // A client that reached the registry before: its refusals are retried (it may be restarting).
  const answered = new HttpClient({ retry: policy, onRetry: (i) => retries.push(i.reason) });
  const back = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => back.listen(0, "127.0.0.1", r));
  const backUrl = `http://127.0.0.1:${(back.address() as AddressInfo).port}/v2/`;
  await (await answered.send({ method: "GET", url: backUrl })).body.dump();
  await new Promise<void>((r) => back.close(() => r()));
  back.closeAllConnections();
  await assert.rejects(answered.send({ method: "GET", url: backUrl }), /ECONNREFUSED/);
  assert.equal(retries.length, 2, retries.join("; "));
  await answered.close();
});
