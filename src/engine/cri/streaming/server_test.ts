/**
 * The streaming server's time bounds, with short settings and an engine reduced to the one
 * sandbox lookup port-forward needs (the host's own network namespace, a local TCP server as the
 * pod's port): a WebSocket connection idle past the bound is closed, and so is a SPDY client
 * that does not open its command's streams in time. (The full protocols against a real pierd are
 * in streaming_test.ts.)
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import type { Engine } from "../../engine.js";
import { StreamingServer } from "./server.js";

describe("streaming server time bounds", () => {
  let server: StreamingServer;
  const silent = createServer(() => {}); // accepts, never answers, never closes
  let silentPort: number;

  before(async () => {
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    silentPort = (silent.address() as { port: number }).port;
    const engine = {
      containers: {
        find: (id: string) => ({ id, status: "running", pid: process.pid }),
        networks: { attachment: () => undefined },
      },
    } as unknown as Engine;
    server = await StreamingServer.listen(engine, { idleTimeoutMs: 400, creationTimeoutMs: 400 });
  });
  after(async () => {
    await server.close();
    silent.close();
  });

  it("closes a WebSocket connection idle past the bound", async () => {
    const url = server.url({ kind: "portforward", sandboxId: "s", ports: [silentPort] });
    const ws = new WebSocket(url.replace(/^http/, "ws"), ["v4.channel.k8s.io"]);
    const t0 = Date.now();
    const opened: Buffer[] = [];
    ws.on("message", (d: Buffer) => opened.push(d));
    ws.on("error", () => {});
    await once(ws, "close");
    assert.ok(Date.now() - t0 >= 350, `closed after ${Date.now() - t0} ms`);
    // Both channels were opened with the port, as the kubelet does, before the silence.
    const port = Buffer.alloc(2);
    port.writeUInt16LE(silentPort);
    assert.deepEqual(opened.slice(0, 2), [
      Buffer.concat([Buffer.from([0]), port]),
      Buffer.concat([Buffer.from([1]), port]),
    ]);
  });

  it("closes a SPDY client that does not open its streams in time", async () => {
    const url = new URL(
      server.url({
        kind: "exec",
        containerId: "c",
        cmd: ["true"],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: false,
      }),
    );
    const c = connect(Number(url.port), "127.0.0.1");
    c.on("data", () => {});
    c.on("error", () => {});
    const t0 = Date.now();
    c.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
    );
    await once(c, "close");
    assert.ok(Date.now() - t0 >= 350, `closed after ${Date.now() - t0} ms`);
  });
});
