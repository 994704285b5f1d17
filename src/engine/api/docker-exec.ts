/**
 * The Docker API's exec routes: create (`POST /containers/{id}/exec`), inspect, resize and
 * start, in the body (detached or not) or on a hijacked connection.
 */
import { PassThrough } from "node:stream";
import { EngineError } from "../error.js";
import type { ExecConfig, ExecInstance } from "../exec.js";
import { refuseUpgrade, upgraded } from "./docker-containers.js";
import { intParam, readJson, sendJson, statusFor } from "./http.js";
import type { Call, Route, UpgradeCall, UpgradeRoute } from "./router.js";

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new EngineError("INVALID_ARGUMENT", `${what} must be an array of strings`);
  return v as string[];
}

/** The engine's exec config from Docker's ExecConfig body. Pure. */
export function execConfigFromDocker(body: unknown): ExecConfig {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  return {
    cmd: strings(b.Cmd, "Cmd"),
    env: strings(b.Env, "Env"),
    ...(typeof b.User === "string" && b.User ? { user: b.User } : {}),
    ...(typeof b.WorkingDir === "string" && b.WorkingDir ? { workingDir: b.WorkingDir } : {}),
    tty: b.Tty === true,
    attachStdin: b.AttachStdin === true,
  };
}

/** Docker's `GET /exec/{id}/json` document. Pure. */
export function execDocument(inst: ExecInstance): Record<string, unknown> {
  return {
    ID: inst.id,
    ContainerID: inst.containerId,
    Running: inst.running,
    ExitCode: inst.exitCode,
    Pid: inst.pid,
    OpenStdin: inst.attachStdin,
    ProcessConfig: {
      entrypoint: inst.cmd[0],
      arguments: inst.cmd.slice(1),
      tty: inst.tty,
      user: inst.user ?? "",
    },
  };
}

async function execCreate({ engine, req, res, params }: Call) {
  const execs = engine.execs;
  const inst = execs.create(params[0]!, execConfigFromDocker(await readJson(req)));
  sendJson(res, 201, { Id: inst.id });
}

function execInspect({ engine, res, params }: Call) {
  const execs = engine.execs;
  sendJson(res, 200, execDocument(execs.get(params[0]!)));
}

async function execResize({ engine, res, params, query }: Call) {
  const execs = engine.execs;
  await execs.resize(execs.get(params[0]!).id, intParam(query, "h") ?? 0, intParam(query, "w") ?? 0);
  res.writeHead(201).end();
}

async function execStart({ engine, req, res, params }: Call) {
  const execs = engine.execs;
  const inst = execs.get(params[0]!);
  const body = (await readJson(req)) as { Detach?: boolean };
  if (body.Detach) {
    const sink = new PassThrough();
    sink.resume();
    void execs.start(inst.id, sink, Buffer.alloc(0)).catch(() => {});
    res.writeHead(200).end();
    return;
  }
  res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
  const out = new PassThrough();
  out.pipe(res);
  await execs.start(inst.id, out, Buffer.alloc(0));
  out.end();
}

/** The exec routes of the Docker API. */
export const dockerExecRoutes: readonly Route[] = [
  ["POST", /^\/containers\/([^/]+)\/exec$/, execCreate],
  ["GET", /^\/exec\/([a-f0-9]+)\/json$/, execInspect],
  ["POST", /^\/exec\/([a-f0-9]+)\/resize$/, execResize],
  ["POST", /^\/exec\/([a-f0-9]+)\/start$/, execStart],
];

/** `POST /exec/{id}/start` with `Upgrade: tcp`: the connection carries the process's streams. */
function execStartHijacked({ engine, req, socket, head, params }: UpgradeCall) {
  const execs = engine.execs;
  let inst: ExecInstance;
  try {
    inst = execs.get(params[0]!);
    if (inst.running || inst.exitCode !== null)
      throw new EngineError("INVALID_STATE", `exec instance ${inst.id} has already been started`);
  } catch (err) {
    refuseUpgrade(socket, statusFor(err), (err as Error).message);
    return;
  }
  // The request's JSON body ({"Detach":false,"Tty":false}) arrives in `head`: it is not stdin.
  upgraded(socket);
  socket.on("error", () => {});
  execs
    .start(inst.id, socket, head, Number(req.headers["content-length"] ?? 0))
    .catch(() => {})
    .finally(() => socket.end());
}

/** The hijacked `exec start` of the Docker API. */
export const dockerExecUpgrade: UpgradeRoute = ["POST", /^\/exec\/([a-f0-9]+)\/start$/, execStartHijacked];
