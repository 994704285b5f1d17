/**
 * The remote command protocols over SPDY (`v4.channel.k8s.io`, `v3`, `v2`, `channel.k8s.io`),
 * as the kubelet serves them: the client opens one stream per channel, named by its
 * `streamType` header (error, stdin, stdout, stderr, and resize from v3 on with a TTY); once
 * all the expected ones are open (within the creation timeout) the command runs, and at its
 * end the error stream carries the result, every stream is finished and the session goes away.
 */
import type { Readable, Writable } from "node:stream";
import { type CommandStreams, endWritable } from "./remote-command.js";
import type { SpdySession, SpdyStream } from "./spdy-session.js";
import { type CommandResult, errorStreamBytes } from "./status.js";

/** The remote command protocols over SPDY, best first, and their version numbers. */
export const SPDY_COMMAND_PROTOCOLS: Readonly<Record<string, number>> = {
  "v4.channel.k8s.io": 4,
  "v3.channel.k8s.io": 3,
  "v2.channel.k8s.io": 2,
  "channel.k8s.io": 1,
};

/** What the request asked for: which of the client's streams to expect. */
export interface ExpectedStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * The stream types a client of protocol `version` opens for `want`: always `error`, resize
 * only from v3 on and with a TTY. Pure.
 */
export function expectedStreamTypes(want: ExpectedStreams, version: number): Set<string> {
  const types = new Set(["error"]);
  if (want.stdin) types.add("stdin");
  if (want.stdout) types.add("stdout");
  if (want.stderr) types.add("stderr");
  if (want.tty && version >= 3) types.add("resize");
  return types;
}

/**
 * Waits until the client opened the streams `want` calls for under protocol `version`;
 * resolves with them, or with undefined (the session closed) when they do not all come within
 * `timeoutMs` or the client leaves first. Streams of other types are refused.
 */
export function spdyCommandStreams(
  session: SpdySession,
  accepting: { accept: (stream: SpdyStream) => true | string },
  want: ExpectedStreams,
  version: number,
  timeoutMs: number,
): Promise<CommandStreams | undefined> {
  const expected = expectedStreamTypes(want, version);
  const got = new Map<string, SpdyStream>();
  const abort = new AbortController();
  session.once("close", () => abort.abort());
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.goAway();
      resolve(undefined);
    }, timeoutMs);
    session.once("close", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    accepting.accept = (stream) => {
      const type = stream.header("streamtype");
      if (!expected.has(type)) return `unexpected stream type ${JSON.stringify(type)}`;
      if (got.has(type)) return `a second ${type} stream`;
      got.set(type, stream);
      stream.on("error", () => {});
      if (got.size === expected.size) {
        clearTimeout(timer);
        accepting.accept = () => "all the command's streams are open";
        queueMicrotask(() => resolve(commandStreams(session, got, version, abort.signal)));
      }
      return true;
    };
  });
}

function commandStreams(
  session: SpdySession,
  got: Map<string, SpdyStream>,
  version: number,
  signal: AbortSignal,
): CommandStreams {
  const error = got.get("error") as SpdyStream;
  // The client writes nothing on these: their readable sides are drained.
  for (const t of ["error", "stdout", "stderr"]) got.get(t)?.resume();
  const io: CommandStreams = {
    signal,
    async finish(result: CommandResult) {
      await Promise.all([endWritable(io.stdout), endWritable(io.stderr)]);
      const bytes = errorStreamBytes(result, version);
      if (bytes.length && !error.destroyed) error.write(bytes);
      await Promise.all([...got.values()].map((s) => endWritable(s)));
      session.goAway();
    },
  };
  const stdin = got.get("stdin");
  const stdout = got.get("stdout");
  const stderr = got.get("stderr");
  const resize = got.get("resize");
  if (stdin) io.stdin = stdin as Readable;
  if (stdout) io.stdout = stdout as Writable;
  if (stderr) io.stderr = stderr as Writable;
  if (resize) io.resize = resize as Readable;
  return io;
}
