/**
 * pier's own API for exec, attach and terminal resize (`docs/engine-api.yaml`), over plain
 * HTTP/1.1 without a connection hijack: the request body is the process's stdin (chunked, sent
 * as typed) and the response body is its output in Docker's 8-byte frames (1 stdout, 2 stderr;
 * a terminal's output is stdout), ended by one frame of stream 3 holding `{"exitCode":N}`.
 */
import type { ServerResponse } from "node:http";
import { Duplex, Writable } from "node:stream";
import { resizeContainer } from "../containers/terminal.js";
import { EngineError } from "../error.js";
import type { ExecConfig } from "../exec.js";
import { frame } from "../logs.js";
import { attachInput, attachOutput } from "./attach.js";
import { flag, intParam } from "./http.js";
import type { Call, Route } from "./router.js";

/** Content type of pier's framed streams. */
export const PIER_STREAM_TYPE = "application/vnd.pier.stream";

/** The closing frame of a pier stream: stream 3, `{"exitCode":N}`. Pure. */
export function exitFrame(code: number): Buffer {
  const f = frame("stdout", Buffer.from(JSON.stringify({ exitCode: code })));
  f[0] = 3;
  return f;
}

/** The exec config of `POST /v1/containers/{id}/exec`'s query. Pure. */
export function execConfigFromQuery(q: URLSearchParams): ExecConfig {
  const cmd = q.getAll("cmd");
  if (cmd.length === 0) throw new EngineError("INVALID_ARGUMENT", "cmd is required");
  const user = q.get("user");
  const workingDir = q.get("workdir");
  return {
    cmd,
    env: q.getAll("env"),
    ...(user ? { user } : {}),
    ...(workingDir ? { workingDir } : {}),
    tty: flag(q, "tty"),
    attachStdin: flag(q, "stdin"),
  };
}

function startStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { "Content-Type": PIER_STREAM_TYPE, ...headers });
  res.flushHeaders();
}

async function ttyResizeExec({ engine, req, res, params, query }: Call) {
  const execs = engine.execs;
  req.resume();
  await execs.resize(params[0]!, intParam(query, "h") ?? 0, intParam(query, "w") ?? 0);
  res.writeHead(204).end();
}

function ttyResize({ engine, req, res, params, query }: Call) {
  const svc = engine.containers;
  req.resume();
  resizeContainer(svc, params[0]!, intParam(query, "h") ?? 0, intParam(query, "w") ?? 0);
  res.writeHead(204).end();
}

async function ttyExec({ engine, req, res, params, query }: Call) {
  const execs = engine.execs;
  const inst = execs.create(params[0]!, execConfigFromQuery(query));
  startStream(res, { "Pier-Exec-Id": inst.id });
  // A terminal's raw output is framed as stdout, so that the exit frame stays recognisable.
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!res.destroyed) res.write(inst.tty ? frame("stdout", chunk) : chunk);
      cb();
    },
  });
  const conn = Duplex.from({ readable: req, writable: out });
  const code = await execs.start(inst.id, conn, Buffer.alloc(0));
  res.end(exitFrame(code));
}

async function ttyAttach({ engine, req, res, params, query }: Call) {
  const svc = engine.containers;
  const rec = svc.find(params[0]!);
  // A created container may be attached before it starts (pier run -it), as in Docker.
  if (rec.status !== "running" && rec.status !== "created")
    throw new EngineError("INVALID_STATE", `You cannot attach to a stopped container, start it first`);
  let code: number | undefined;
  const onExit = (id: string, c: number) => {
    if (id === rec.id) code = c;
  };
  svc.on("exit", onExit);
  try {
    startStream(res);
    if (flag(query, "stdin") && rec.config.openStdin) attachInput(svc, rec.id, req, Buffer.alloc(0));
    else req.resume();
    await attachOutput(svc, rec.id, res, { tty: false, stdout: true, stderr: true });
    res.end(exitFrame(code ?? svc.store.get(rec.id)?.exitCode ?? 255));
  } finally {
    svc.off("exit", onExit);
  }
}

/** The exec, attach and resize routes of pier's API (paths without `/v1`). */
export const pierTtyRoutes: readonly Route[] = [
  ["POST", /^\/exec\/([a-f0-9]+)\/resize$/, ttyResizeExec],
  ["POST", /^\/containers\/([^/]+)\/resize$/, ttyResize],
  ["POST", /^\/containers\/([^/]+)\/exec$/, ttyExec],
  ["POST", /^\/containers\/([^/]+)\/attach$/, ttyAttach],
];
