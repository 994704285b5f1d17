/**
 * The CRI streaming server against a real pierd, driven by a client written with the libraries
 * client-go uses (`src/testing/cri-stream-client`: moby/spdystream, gorilla/websocket): exec
 * with and without a TTY over SPDY and WebSocket (output, stdin with its half-close, exit codes
 * through the error stream, resizes seen by `stty size` inside), older protocol versions,
 * attach to running containers, port-forward to a port served on the pod's own loopback, the
 * request checks of Exec/Attach/PortForward, spent and unknown tokens, and hostile clients
 * (oversized frames, garbage, a header block that inflates without end) cut off while pierd
 * goes on serving.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { before, describe, it } from "node:test";
import { constants, deflateSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { WebSocket } from "ws";
import {
  type Client as CriClient,
  type Msg as CriMsg,
  call as criCall,
  rejectsWith,
  until,
} from "../../../testing/cri-client.js";
import { useCriDaemon } from "../../../testing/cri-daemon.js";
import { runStreamClient, streamClient, streamClientSkipReason } from "../../../testing/cri-stream-client.js";
import type { BusyboxRegistry, TestDaemon } from "../../../testing/engine.js";
import { socketRequest } from "../../../testing/socket-request.js";
import { ControlType, controlFrame, dataFrame, encodeHeaderBlock } from "./spdy-frames.js";
import { SPDY_DICTIONARY } from "./spdy-zlib.js";

const skip = streamClientSkipReason();

/** GET `path` of pierd's Docker API. */
const dockerApi = (d: TestDaemon, path: string) => socketRequest(d.dockerSocket, "GET", path);

/** Opens a raw TCP connection to `url`'s host, sends `request`, and collects all it gets until closed. */
function rawExchange(
  url: string,
  request: Buffer | string,
  ms = 10000,
): Promise<{ data: Buffer; closed: boolean }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(u.port), u.hostname);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, ms);
    s.on("data", (d) => chunks.push(d));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
    s.write(request);
  });
}

function spdyUpgrade(url: string, protocol = "v4.channel.k8s.io"): string {
  const u = new URL(url);
  return (
    `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
    `X-Stream-Protocol-Version: ${protocol}\r\nContent-Length: 0\r\n\r\n`
  );
}

describe("CRI streaming server (exec, attach, port-forward)", { skip }, () => {
  let reg: BusyboxRegistry;
  let d: TestDaemon;
  let rt: CriClient;
  let pod: string;
  let srv: string;

  const containerConfig = (name: string, args: string[], extra: CriMsg = {}): CriMsg => ({
    pod_sandbox_id: pod,
    config: {
      metadata: { name, attempt: 0 },
      image: { image: reg.image },
      command: ["sh", "-c"],
      args,
      labels: { "io.kubernetes.container.name": name },
      ...extra,
    },
  });
  const startContainer = async (name: string, args: string[], extra: CriMsg = {}) => {
    const { container_id: id } = await criCall(rt, "CreateContainer", containerConfig(name, args, extra));
    await criCall(rt, "StartContainer", { container_id: id });
    return id as string;
  };
  const execUrl = async (cmd: string[], opts: CriMsg = { stdout: true, stderr: true }) =>
    (await criCall(rt, "Exec", { container_id: srv, cmd, ...opts })).url as string;

  before(() => {
    streamClient(); // built first: its build time is not a test's
  });
  useCriDaemon({
    cniNetwork: false,
    pull: true,
    ready: (f) => {
      ({ reg, d, rt } = f);
    },
    setup: async () => {
      ({ pod_sandbox_id: pod } = await criCall(rt, "RunPodSandbox", {
        config: { metadata: { name: "stream", uid: "uid-stream", namespace: "default", attempt: 0 } },
      }));
      // Served on the pod's loopback only: reachable through port-forward, not from the host.
      srv = await startContainer("srv", [
        "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www",
      ]);
    },
    beforeStop: async () => {
      if (pod) await criCall(rt, "RemovePodSandbox", { pod_sandbox_id: pod }).catch(() => {});
    },
  });

  it("answers Exec with a URL of the streaming server on loopback, and checks the request", async () => {
    const url = await execUrl(["true"]);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{11}$/);
    await rejectsWith(
      criCall(rt, "Exec", { container_id: srv, cmd: ["sh"], tty: true, stderr: true }),
      grpc.status.INVALID_ARGUMENT,
      /tty and stderr cannot both be true/,
    );
    await rejectsWith(
      criCall(rt, "Exec", { container_id: srv, cmd: ["sh"] }),
      grpc.status.INVALID_ARGUMENT,
      /one of stdin, stdout, or stderr must be set/,
    );
    await rejectsWith(
      criCall(rt, "Attach", { container_id: "0123456789ab", stdout: true }),
      grpc.status.NOT_FOUND,
      /0123456789ab/,
    );
    await rejectsWith(
      criCall(rt, "PortForward", { pod_sandbox_id: pod, port: [70000] }),
      grpc.status.INVALID_ARGUMENT,
      /port 70000/,
    );
    const done = await startContainer("done", ["true"]);
    await until("the short container's exit", async () => {
      const s = await criCall(rt, "ContainerStatus", { container_id: done });
      return s.status.state === "CONTAINER_EXITED" ? true : undefined;
    });
    await rejectsWith(
      criCall(rt, "Exec", { container_id: done, cmd: ["true"], stdout: true }),
      grpc.status.FAILED_PRECONDITION,
      /not running/,
    );
  });

  it("execs over SPDY: stdout and stderr apart, the exit code through the error stream", async () => {
    const url = await execUrl(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    const r = await runStreamClient(["-stderr", url]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    // The engine's exec instance (the same as Docker's, with its events) is not kept afterwards.
    const events = await dockerApi(
      d,
      `/events?since=1&until=${Math.ceil(Date.now() / 1000)}&filters=${encodeURIComponent('{"event":["exec_die"]}')}`,
    );
    const die = events.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { Actor: { Attributes: Record<string, string> } })
      .find((e) => e.Actor.Attributes.exitCode === "7");
    assert.ok(die, events.body);
    assert.equal((await dockerApi(d, `/exec/${die.Actor.Attributes.execID}/json`)).status, 404);
  });

  it("execs over SPDY with stdin: the client's half-close ends the process's input", async () => {
    const url = await execUrl(["sh", "-c", "cat; echo end"], { stdin: true, stdout: true });
    const r = await runStreamClient(["-stdin", url], "line one\nline two\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "line one\nline two\nend\n");
  });

  it("execs over SPDY with a TTY: the client's resize reaches the terminal", async () => {
    const script =
      'for i in $(seq 200); do [ "$(stty size 2>/dev/null)" = "37 101" ] && break; sleep 0.05; done; stty size; tty';
    const url = await execUrl(["sh", "-c", script], { tty: true, stdout: true });
    const r = await runStreamClient(["-tty", "-resize", "101x37", url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^37 101\r\n\/dev\/pts\/\d+\r\n$/);
  });

  it("speaks the older SPDY protocols (v2: a failure is a message) and refuses unknown ones", async () => {
    let url = await execUrl(["sh", "-c", "echo v2; exit 3"]);
    let r = await runStreamClient(["-stderr", "-protocols", "v2.channel.k8s.io", url]);
    assert.equal(r.stdout, "v2\n");
    assert.equal(r.code, 125);
    assert.match(r.stderr, /command terminated with non-zero exit code: exit status 3/);
    url = await execUrl(["true"]);
    r = await runStreamClient(["-stderr", "-protocols", "v9.channel.k8s.io", url]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /403 Forbidden: unable to upgrade: unable to negotiate protocol/);
  });

  it("execs over WebSocket v5: channels, stdin closed by the close message, exit code", async () => {
    const url = await execUrl(["sh", "-c", "cat; echo err >&2; exit 3"], {
      stdin: true,
      stdout: true,
      stderr: true,
    });
    const r = await runStreamClient(["-ws", "-stdin", "-stderr", url], "through ws\n");
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "through ws\n");
    assert.equal(r.stderr, "err\n");
  });

  it("execs over WebSocket v5 and v4 with a TTY that the client resizes", async () => {
    const script =
      'for i in $(seq 200); do [ "$(stty size 2>/dev/null)" = "41 97" ] && break; sleep 0.05; done; stty size';
    for (const protocol of ["v5.channel.k8s.io", "v4.channel.k8s.io"]) {
      const url = await execUrl(["sh", "-c", script], { tty: true, stdout: true });
      const r = await runStreamClient(["-ws", "-tty", "-resize", "97x41", "-protocols", protocol, url]);
      assert.equal(r.code, 0, `${protocol}: ${r.stderr}`);
      assert.equal(r.stdout, "41 97\r\n", protocol);
    }
  });

  it("execs over the base64 WebSocket protocol (ws's client): digits and base64 bodies", async () => {
    const url = await execUrl(["sh", "-c", 'read l; echo "got $l"; exit 2'], { stdin: true, stdout: true });
    const ws = new WebSocket(url.replace(/^http/, "ws"), ["v4.base64.channel.k8s.io"]);
    const got: Record<string, string> = {};
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no end: ${JSON.stringify(got)}`)), 20000);
      ws.on("open", () => ws.send(`0${Buffer.from("in base64\n").toString("base64")}`));
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        assert.equal(isBinary, false, "a base64 protocol sends text");
        const text = data.toString();
        got[text[0]!] = (got[text[0]!] ?? "") + Buffer.from(text.slice(1), "base64").toString();
      });
      ws.on("error", reject);
      ws.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    assert.equal(ws.protocol, "v4.base64.channel.k8s.io");
    assert.equal(got["1"], "got in base64\n");
    const status = JSON.parse(got["3"] ?? "{}");
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "2" }]);
  });

  it("attaches over SPDY to a running container: its output, and stdin that it reads", async () => {
    const id = await startContainer(
      "talker",
      ['echo ready; while read l; do echo "got $l"; done; echo bye'],
      { stdin: true, stdin_once: true },
    );
    const url = (await criCall(rt, "Attach", { container_id: id, stdin: true, stdout: true, stderr: true }))
      .url;
    assert.match(url, /\/attach\//);
    const r = await runStreamClient(["-stdin", "-stderr", url], "one\ntwo\n");
    assert.equal(r.code, 0, r.stderr);
    // Attached after "ready"; stdin closed (stdin_once) ends the loop and the container.
    assert.equal(r.stdout, "got one\ngot two\nbye\n");
  });

  it("attaches over WebSocket to a container with a TTY, resizing its terminal", async () => {
    const id = await startContainer(
      "term",
      [
        'for i in $(seq 400); do [ "$(stty size 2>/dev/null)" = "25 90" ] && break; sleep 0.05; done; stty size; read x; echo "read $x"',
      ],
      { stdin: true, stdin_once: true, tty: true },
    );
    const url = (await criCall(rt, "Attach", { container_id: id, stdin: true, stdout: true, tty: true })).url;
    const r = await runStreamClient(["-ws", "-stdin", "-tty", "-resize", "90x25", url], "hello\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /25 90\r\n/);
    assert.match(r.stdout, /read hello\r\n/);
  });

  it("forwards a port served on the pod's loopback, over SPDY and over WebSocket", async () => {
    const request = "GET /index.html HTTP/1.0\r\n\r\n";
    const spdy = (await criCall(rt, "PortForward", { pod_sandbox_id: pod, port: [8080] })).url;
    assert.match(spdy, /\/portforward\//);
    let r = await until("httpd in the pod", async () => {
      const run = await runStreamClient(["-portforward", "8080", spdy], request);
      return run.code === 0 ? run : undefined;
    });
    assert.match(r.stdout, /^HTTP\/1\.[01] 200/);
    assert.match(r.stdout, /hello-from-pod/);
    // Three connections in turn on one session, as kubectl port-forward serves several.
    const three = (await criCall(rt, "PortForward", { pod_sandbox_id: pod, port: [8080] })).url;
    r = await runStreamClient(["-portforward", "8080", "-connections", "3", three], request);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/hello-from-pod/g)?.length, 3, r.stdout);
    const ws = (await criCall(rt, "PortForward", { pod_sandbox_id: pod, port: [8080] })).url;
    r = await runStreamClient(["-ws", "-portforward", "8080", ws], request);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello-from-pod/);
  });

  it("reports a port nothing listens on through the error stream", async () => {
    const url = (await criCall(rt, "PortForward", { pod_sandbox_id: pod, port: [9999] })).url;
    const r = await runStreamClient(["-portforward", "9999", url], "x");
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /error forwarding port 9999 to pod [0-9a-f]{64}.*failed to connect to localhost:9999/,
    );
  });

  it("refuses spent, unknown and non-upgraded requests", async () => {
    const url = await execUrl(["echo", "once"]);
    const first = await runStreamClient(["-stderr", url]);
    assert.equal(first.stdout, "once\n");
    const again = await runStreamClient(["-stderr", url]);
    assert.equal(again.code, 4);
    assert.match(again.stderr, /404 Not Found/);
    const unknown = await runStreamClient(["-ws", url.replace(/\/exec\/.*/, "/exec/AAAAAAAAAAA")]);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /404/);
    const plain = await execUrl(["true"]);
    const res = await fetch(plain, { method: "POST" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /unable to upgrade/);
    assert.equal((await fetch(plain, { method: "POST" })).status, 404, "the token was spent");
  });

  it("cuts off hostile clients without hurting pierd", async () => {
    // An oversized data frame announced right after the upgrade: GOAWAY, then the connection closes.
    let url = await execUrl(["true"]);
    let r = await rawExchange(
      url,
      Buffer.concat([Buffer.from(spdyUpgrade(url)), dataFrame(1, Buffer.alloc(0)).fill(0xff, 5, 8)]),
    );
    assert.ok(r.closed, "the connection was closed");
    assert.match(r.data.toString("latin1"), /^HTTP\/1\.1 101/);
    const goAway = controlFrame(ControlType.GOAWAY, 0, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]));
    assert.ok(r.data.includes(goAway.subarray(0, 4)), "a GOAWAY PROTOCOL_ERROR was sent");
    // Garbage instead of an HTTP request.
    url = await execUrl(["true"]);
    r = await rawExchange(url, Buffer.from("\x16\x03\x01garbage\r\n\r\n".repeat(10)));
    assert.ok(r.closed);
    assert.doesNotMatch(r.data.toString("latin1"), /101/);
    // A SYN_STREAM whose header block inflates to megabytes (a zlib bomb).
    url = await execUrl(["true"]);
    const bomb = deflateSync(encodeHeaderBlock([["streamtype", "x".repeat(4 << 20)]]), {
      dictionary: SPDY_DICTIONARY,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    assert.ok(bomb.length < 60 * 1024, `the bomb is ${bomb.length} bytes`);
    const syn = controlFrame(
      ControlType.SYN_STREAM,
      0,
      Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), bomb]),
    );
    r = await rawExchange(url, Buffer.concat([Buffer.from(spdyUpgrade(url)), syn]));
    assert.ok(r.closed);
    assert.ok(!r.data.includes(Buffer.from([0x80, 3, 0, 2])), "no SYN_REPLY");
    // A WebSocket message past the size limit.
    url = await execUrl(["sh", "-c", "cat"], { stdin: true, stdout: true });
    const u = new URL(url);
    const ws = await rawExchange(
      url,
      Buffer.concat([
        Buffer.from(
          `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n",
        ),
        // FIN, binary; masked, 64-bit length of 64 MiB.
        Buffer.from([0x82, 0xff, 0, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]),
      ]),
    );
    assert.ok(ws.closed);
    assert.match(ws.data.toString("latin1"), /^HTTP\/1\.1 101/);
    // pierd still serves.
    url = await execUrl(["echo", "still here"]);
    const ok = await runStreamClient(["-stderr", url]);
    assert.equal(ok.stdout, "still here\n");
    assert.equal(d.proc.exitCode, null);
  });
});
