/**
 * The Docker API's container routes: create, list (`ps` with filters), inspect, start, wait,
 * stop, restart, kill, pause, unpause, resize, logs, attach (in the body or hijacked), stats,
 * remove and prune, translated to the engine's container service.
 */

import { Socket } from "node:net";
import { readHostFacts } from "../containers/host-facts.js";
import { privilegedWarnings } from "../containers/security.js";
import type { WaitCondition } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { resizeContainer } from "../containers/terminal.js";
import { EngineError } from "../error.js";
import { attachInput, attachOutput, streamLogs } from "./attach.js";
import { inspectDocument, listContainers } from "./container-list.js";
import { createInputFromDocker, parseFilters } from "./docker-types.js";
import { clientGone, flag, intParam, readJson, sendJson, statusFor, timeParam } from "./http.js";
import type { Call, Route, UpgradeCall, UpgradeRoute } from "./router.js";
import { containerKill, containerPause, containerStats, containerUnpause } from "./shared-handlers.js";

/** Moved to `container-list.ts` (one list for both APIs); kept here for their importers. */
export { containerMatches, pausedInspect, pausedSummary } from "./container-list.js";

const WAIT_CONDITIONS: readonly string[] = ["not-running", "next-exit", "removed"];

/** Writes Docker's 101 answer of a hijacked connection. */
export function upgraded(socket: UpgradeCall["socket"]): void {
  socket.write(
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
  );
}

/** Ends a connection whose hijack was refused with Docker's JSON error. */
export function refuseUpgrade(socket: UpgradeCall["socket"], status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function containerCreate({ engine, req, res, query }: Call) {
  const input = createInputFromDocker(await readJson(req));
  // A client that goes away stops the unpack of the image's layers.
  const rec = await engine.containers.createFrom(input, query.get("name") || undefined, clientGone(res));
  sendJson(res, 201, { Id: rec.id, Warnings: privilegedWarnings(rec.config.security, readHostFacts()) });
}

async function containerList({ engine, res, query }: Call) {
  const rows = await listContainers(engine, {
    all: flag(query, "all"),
    limit: intParam(query, "limit"),
    filters: parseFilters(query.get("filters")),
  });
  sendJson(
    res,
    200,
    rows.map((r) => r.summary),
  );
}

async function containerInspect({ engine, res, params }: Call) {
  sendJson(res, 200, await inspectDocument(engine, engine.containers.find(params[0]!)));
}

async function containerStart({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const rec = svc.find(params[0]!);
  if (rec.status === "running") {
    res.writeHead(304).end();
    return;
  }
  // `docker start --checkpoint NAME [--checkpoint-dir DIR]`: restored instead of started.
  const checkpoint = query.get("checkpoint");
  if (checkpoint)
    await engine.checkpoints.start(rec.id, checkpoint, query.get("checkpoint-dir") || undefined);
  else await svc.start(rec.id);
  res.writeHead(204).end();
}

async function containerWait({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const cond = query.get("condition") || "not-running";
  if (!WAIT_CONDITIONS.includes(cond))
    throw new EngineError("INVALID_ARGUMENT", `invalid condition: ${cond}`);
  const waiting = svc.wait(params[0]!, cond as WaitCondition);
  res.writeHead(200, { "Content-Type": "application/json" });
  res.flushHeaders();
  const r = await waiting;
  res.end(JSON.stringify({ StatusCode: r.exitCode, Error: r.error ? { Message: r.error } : null }));
}

async function containerStop({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const stopped = await svc.stop(params[0]!, intParam(query, "t"));
  res.writeHead(stopped ? 204 : 304).end();
}

async function containerRestart({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  await svc.restart(params[0]!, intParam(query, "t"));
  res.writeHead(204).end();
}

function containerResize({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  resizeContainer(svc, params[0]!, intParam(query, "h") ?? 0, intParam(query, "w") ?? 0);
  res.writeHead(200).end();
}

async function containerLogs({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const rec = svc.find(params[0]!);
  const tailText = query.get("tail");
  const tail = !tailText || tailText === "all" ? undefined : Number(tailText);
  if (tail !== undefined && !Number.isInteger(tail))
    throw new EngineError("INVALID_ARGUMENT", `invalid tail ${tailText}`);
  res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
  const since = timeParam(query, "since");
  const until = timeParam(query, "until");
  const logQuery = {
    stdout: flag(query, "stdout"),
    stderr: flag(query, "stderr"),
    follow: flag(query, "follow"),
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    done: () => svc.store.get(rec.id)?.status !== "running",
    wake: (notify: () => void) => svc.onEnd(rec.id, notify),
  };
  const tty = rec.config.tty === true;
  await streamLogs(svc, rec.id, res, logQuery, {
    tty,
    timestamps: flag(query, "timestamps"),
    details: flag(query, "details"),
  });
  res.end();
}

async function containerAttach({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  // Without `Upgrade: tcp` the stream goes in the response body (old clients).
  const rec = svc.find(params[0]!);
  res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
  res.flushHeaders();
  const streams = { stdout: flag(query, "stdout"), stderr: flag(query, "stderr") };
  await attachOutput(svc, rec.id, res, { tty: rec.config.tty === true, ...streams });
  res.end();
}

async function containerRemove({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  await svc.remove(params[0]!, flag(query, "force"), flag(query, "v"));
  res.writeHead(204).end();
}

async function containerPrune({ engine, req, res, query }: Call) {
  req.resume();
  const r = await engine.system.pruneContainers(parseFilters(query.get("filters")));
  sendJson(res, 200, {
    ContainersDeleted: r.deleted.length ? r.deleted : null,
    SpaceReclaimed: r.spaceReclaimed,
  });
}

const one = (verb: string) => new RegExp(`^/containers/([^/]+)/${verb}$`);

/** The container routes of the Docker API. */
export const dockerContainerRoutes: readonly Route[] = [
  ["POST", /^\/containers\/create$/, containerCreate],
  ["GET", /^\/containers\/json$/, containerList],
  ["POST", /^\/containers\/prune$/, containerPrune],
  ["GET", one("json"), containerInspect],
  ["POST", one("start"), containerStart],
  ["POST", one("wait"), containerWait],
  ["POST", one("stop"), containerStop],
  ["POST", one("restart"), containerRestart],
  ["POST", one("kill"), containerKill],
  ["POST", one("pause"), containerPause],
  ["POST", one("unpause"), containerUnpause],
  ["POST", one("resize"), containerResize],
  ["GET", one("logs"), containerLogs],
  ["POST", one("attach"), containerAttach],
  ["GET", one("stats"), containerStats],
  ["DELETE", /^\/containers\/([^/]+)$/, containerRemove],
];

/** `POST /containers/{id}/attach` with `Upgrade: tcp`: the connection carries the streams. */
function containerAttachHijacked({ engine, socket, head, query, params }: UpgradeCall) {
  const svc = engine.containers;
  let rec: ContainerRecord;
  try {
    rec = svc.find(params[0]!);
  } catch (err) {
    refuseUpgrade(socket, statusFor(err), (err as Error).message);
    return;
  }
  upgraded(socket);
  if (socket instanceof Socket) socket.setNoDelay(true);
  if (flag(query, "stdin") && rec.config.openStdin && socket instanceof Socket)
    attachInput(svc, rec.id, socket, head);
  else socket.resume();
  socket.on("error", () => {});
  const streams = { stdout: flag(query, "stdout"), stderr: flag(query, "stderr") };
  attachOutput(svc, rec.id, socket, { tty: rec.config.tty === true, ...streams })
    .catch(() => {})
    .finally(() => socket.end());
}

/** The hijacked `attach` of the Docker API. */
export const dockerAttachUpgrade: UpgradeRoute = [
  "POST",
  /^\/containers\/([^/]+)\/attach$/,
  containerAttachHijacked,
];
