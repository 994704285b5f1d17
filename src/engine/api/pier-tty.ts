/**
 * pier's own API for exec, attach and terminal resize (`docs/engine-api.yaml`), over plain
 * HTTP/1.1 without a connection hijack: the request body is the process's stdin (chunked, sent
 * as typed) and the response body is its output in Docker's 8-byte frames (1 stdout, 2 stderr;
 * a terminal's output is stdout), ended by one frame of stream 3 holding `{"exitCode":N}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Duplex, Writable } from "node:stream";
import type { ContainerService } from "../containers/service.js";
import { resizeContainer } from "../containers/terminal.js";
import { EngineError } from "../error.js";
import { frame } from "../logs.js";
import { attachInput, attachOutput } from "./attach.js";
import type { ExecService } from "./exec.js";
import { flag, intParam } from "./http.js";

/** Content type of pier's framed streams. */
export const PIER_STREAM_TYPE = "application/vnd.pier.stream";

/** The closing frame of a pier stream: stream 3, `{"exitCode":N}`. Pure. */
export function exitFrame(code: number): Buffer {
  const f = frame("stdout", Buffer.from(JSON.stringify({ exitCode: code })));
  f[0] = 3;
  return f;
}

/** The exec config of `POST /v1/containers/{id}/exec`'s query, as Docker's ExecConfig. Pure. */
export function execConfigFromQuery(q: URLSearchParams): Record<string, unknown> {
  const cmd = q.getAll("cmd");
  if (cmd.length === 0) throw new EngineError("INVALID_ARGUMENT", "cmd is required");
  return {
    Cmd: cmd,
    Env: q.getAll("env"),
    User: q.get("user") ?? "",
    WorkingDir: q.get("workdir") ?? "",
    Tty: flag(q, "tty"),
    AttachStdin: flag(q, "stdin"),
  };
}

function startStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { "Content-Type": PIER_STREAM_TYPE, ...headers });
  res.flushHeaders();
}

/**
 * Handles the routes of this module (`path` without the `/v1` prefix); `false` for any other
 * request, which is left untouched (its body unread).
 */
export async function pierTtyRoutes(
  svc: ContainerService,
  execs: ExecService,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  q: URLSearchParams,
): Promise<boolean> {
  if (req.method !== "POST") return false;
  const ex = /^\/exec\/([a-f0-9]+)\/resize$/.exec(path);
  if (ex) {
    req.resume();
    await execs.resize(ex[1]!, intParam(q, "h") ?? 0, intParam(q, "w") ?? 0);
    res.writeHead(204).end();
    return true;
  }
  const m = /^\/containers\/([^/]+)\/(exec|attach|resize)$/.exec(path);
  if (!m) return false;
  const ref = decodeURIComponent(m[1]!);
  if (m[2] === "resize") {
    req.resume();
    resizeContainer(svc, ref, intParam(q, "h") ?? 0, intParam(q, "w") ?? 0);
    res.writeHead(204).end();
    return true;
  }
  if (m[2] === "exec") {
    const inst = execs.create(ref, execConfigFromQuery(q));
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
    return true;
  }
  const rec = svc.find(ref);
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
    if (flag(q, "stdin") && rec.config.openStdin) attachInput(svc, rec.id, req, Buffer.alloc(0));
    else req.resume();
    await attachOutput(svc, rec.id, res, { tty: false, stdout: true, stderr: true });
    res.end(exitFrame(code ?? svc.store.get(rec.id)?.exitCode ?? 255));
  } finally {
    svc.off("exit", onExit);
  }
  return true;
}
