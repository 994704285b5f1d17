/**
 * Port-forwarding into a pod, as the kubelet serves it: each forwarded connection is a pair of
 * channels (data both ways, error from pier) bound to a port; pier connects to that port on
 * localhost inside the pod's network namespace through `native/pier-portfwd` (which joins the
 * namespace, connects over IPv4 then IPv6 as containerd does, and relays with half-closes), and
 * a failure to connect goes to the error channel as the kubelet words it.
 *
 * Over SPDY (`portforward.k8s.io`) the client opens the pairs at will, each stream naming its
 * `port`, `streamType` (data, error) and `requestID`; over WebSocket the ports come with the
 * request and channels 2n/2n+1 serve the n-th, each opened with the port number (2 bytes,
 * little-endian) as the kubelet does.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { ensureMonitor } from "../../containers/monitor.js";
import type { Engine } from "../../engine.js";
import { CriError } from "../error.js";
import { endWritable } from "./remote-command.js";
import type { SpdySession, SpdyStream } from "./spdy-session.js";

/** The port-forward protocol over SPDY. */
export const SPDY_PORTFORWARD_PROTOCOL = "portforward.k8s.io";

/** The most bytes of the relay's message kept for the error channel. */
const MAX_ERROR = 4096;

/** The built relay (beside the monitor, which native/build.sh makes with it). */
export function portForwardRelay(): string {
  const bin = join(dirname(ensureMonitor()), "pier-portfwd");
  if (!existsSync(bin)) throw new CriError("FAILED_PRECONDITION", `${bin} is missing: run native/build.sh`);
  return bin;
}

/**
 * The network namespace of running sandbox `sandboxId`: its bound namespace file on a pier
 * network, else its pause process's (a pod on the host's network).
 */
export function sandboxNetns(engine: Engine, sandboxId: string): string {
  const rec = engine.containers.find(sandboxId);
  if (rec.status !== "running" || !rec.pid)
    throw new CriError("FAILED_PRECONDITION", `pod sandbox ${sandboxId} is not running`);
  return engine.containers.networks.attachment(rec.id)?.netns || `/proc/${rec.pid}/ns/net`;
}

/**
 * Forwards one connection: the client's `input` to `port` in `netns`, what comes back to
 * `output` (ended when the pod's side closes); a failure is written to `error` as the kubelet
 * words it. Resolves when both ways are done.
 */
export function forwardPort(
  netns: string,
  sandboxId: string,
  port: number,
  input: Readable,
  output: Writable,
  error: Writable,
): Promise<void> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    const fail = async (message: string) => {
      if (!error.destroyed)
        error.write(`error forwarding port ${port} to pod ${sandboxId}, uid : ${message}`);
    };
    try {
      child = spawn(portForwardRelay(), [netns, String(port)], { stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      void fail((err as Error).message).then(() => resolve());
      return;
    }
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr.length < MAX_ERROR) stderr += d.toString("utf8").slice(0, MAX_ERROR - stderr.length);
    });
    child.stdin!.on("error", () => {});
    input.pipe(child.stdin!);
    child.stdout!.pipe(output);
    // The client gone both ways: the relay has no one to serve.
    output.once("close", () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    child.on("error", (e) => void fail(e.message));
    child.on("close", (code) => {
      input.unpipe(child.stdin!);
      input.resume();
      if (code !== 0) void fail(stderr.trim() || `the relay exited with status ${code}`);
      void endWritable(output).then(() => resolve());
    });
  });
}

/** One SPDY forwarding request: its two streams as they arrive. */
interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Serves a SPDY port-forward session: validates each new stream's headers (the session's
 * `accept`), pairs data and error streams by request id, forwards each complete pair; a pair
 * still incomplete after `timeoutMs` is answered with an error and reset.
 */
export function spdyPortForward(
  session: SpdySession,
  netns: string,
  sandboxId: string,
  timeoutMs: number,
): (stream: SpdyStream) => true | string {
  const pairs = new Map<string, StreamPair>();
  session.once("close", () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  return (stream) => {
    const portText = stream.header("port");
    if (!portText) return `"port" header is required`;
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)
      return `unable to parse "${portText}" as a port`;
    const type = stream.header("streamtype");
    if (type !== "data" && type !== "error") return `invalid stream type "${type}"`;
    // Clients older than request ids open the two streams back to back (kubelet's fallback).
    const requestId = stream.header("requestid") || String(type === "error" ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const p: StreamPair = {
        timer: setTimeout(() => {
          pairs.delete(requestId);
          if (p.error && !p.error.destroyed)
            p.error.end(`timed out waiting for streams of request ${requestId}`);
          p.data?.reset();
        }, timeoutMs),
      };
      pair = p;
      pairs.set(requestId, pair);
    }
    if (pair[type]) return `request ${requestId} already has a ${type} stream`;
    pair[type] = stream;
    stream.on("error", () => {});
    if (pair.data && pair.error) {
      const { data, error } = pair;
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      error.resume();
      queueMicrotask(() => {
        void forwardPort(netns, sandboxId, Number(data.header("port")), data, data, error).then(() =>
          endWritable(error),
        );
      });
    }
    return true;
  };
}
