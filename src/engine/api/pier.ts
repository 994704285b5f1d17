/**
 * pier's own REST API (`/v1/...`, described in `docs/engine-api.yaml`), which the `pier` CLI
 * uses, as one route table over the engine. Bodies are the engine's own types; errors are
 * `{"message","code"}` with the status of `statusFor`; streams (logs, pull progress) are
 * JSON lines.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PIER_VERSION } from "../../common/version.js";
import type { ContainerCreateInput } from "../containers/config.js";
import type { HealthState } from "../containers/health.js";
import type { WaitCondition } from "../containers/service.js";
import type { Engine } from "../engine.js";
import { EngineError } from "../error.js";
import { filterImages } from "../image-filters.js";
import { familiarName } from "../image-operations.js";
import { readLogs } from "../logs.js";
import { listContainers } from "./container-list.js";
import { parseFilters } from "./docker-types.js";
import { clientGone, flag, intParam, readJson, sendError, sendJson, timeParam } from "./http.js";
import { pierCheckpointRoutes } from "./pier-checkpoints.js";
import { pierNetworkRoutes, withNetworkView } from "./pier-networks.js";
import { pierOpsRoutes } from "./pier-ops.js";
import { pierTtyRoutes } from "./pier-tty.js";
import { pierVerbRoutes } from "./pier-verbs.js";
import { apiPath, type Call, matchRoute, type Route } from "./router.js";
import { containerKill } from "./shared-handlers.js";
import { pierUpdateRoutes } from "./update-handlers.js";

/** Version of pier's own API (the path prefix). */
export const PIER_API_VERSION = "v1";

async function containerCreate({ engine, req, res }: Call) {
  const input = (await readJson(req)) as ContainerCreateInput;
  const name = input.name;
  if (name !== undefined && typeof name !== "string")
    throw new EngineError("INVALID_ARGUMENT", "name must be a string");
  // A client that goes away stops the unpack of the image's layers.
  sendJson(res, 201, await engine.containers.createFrom(input, name || undefined, clientGone(res)));
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
    rows.map((r) => withHealthView(engine, withNetworkView(engine, r.record))),
  );
}

function containerInspect({ engine, res, params }: Call) {
  return sendJson(
    res,
    200,
    withHealthView(engine, withNetworkView(engine, engine.containers.find(params[0]!))),
  );
}

async function containerRemove({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  await svc.remove(params[0]!, flag(query, "force"), flag(query, "v"));
  res.writeHead(204).end();
}

async function containerStart({ engine, res, params, query }: Call) {
  const checkpoint = query.get("checkpoint");
  const rec = checkpoint
    ? await engine.checkpoints.start(params[0]!, checkpoint, query.get("checkpoint-dir") || undefined)
    : await engine.containers.start(params[0]!);
  sendJson(res, 200, rec);
}

async function containerStop({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  await svc.stop(params[0]!, intParam(query, "timeout"));
  sendJson(res, 200, svc.find(params[0]!));
}

async function containerRestart({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  sendJson(res, 200, await svc.restart(params[0]!, intParam(query, "timeout")));
}

async function containerWait({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const waiting = svc.wait(params[0]!, (query.get("condition") || "not-running") as WaitCondition);
  res.writeHead(200, { "Content-Type": "application/json" });
  res.flushHeaders();
  res.end(JSON.stringify(await waiting));
}

async function containerLogs({ engine, res, params, query }: Call) {
  const rec = engine.containers.find(params[0]!);
  const tail = intParam(query, "tail");
  const since = timeParam(query, "since");
  const until = timeParam(query, "until");
  res.writeHead(200, { "Content-Type": "application/x-ndjson" });
  await writeLogLines(engine, res, rec.id, {
    follow: flag(query, "follow"),
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  });
  res.end();
}

/** Writes container `id`'s log entries to `res` as JSON lines until they end (or the client went away). */
async function writeLogLines(
  engine: Engine,
  res: ServerResponse,
  id: string,
  opts: { follow: boolean; tail?: number; since?: number; until?: number },
): Promise<void> {
  const svc = engine.containers;
  for await (const e of readLogs(svc.logPath(id), {
    ...opts,
    done: () => svc.store.get(id)?.status !== "running",
    wake: (notify) => svc.onEnd(id, notify),
    // Only a client gone before the end stops it (an abort at every end cost a DOMException each).
    signal: clientGone(res),
  })) {
    if (!res.write(`${JSON.stringify(e)}\n`)) await new Promise((r) => res.once("drain", r));
  }
}

/**
 * `pier run` in the foreground as one request instead of four (start, logs, wait, remove): starts
 * container `ref`, streams its output as `logs?follow=1` does until it exits, with `remove=1`
 * removes it (and its anonymous volumes, as `rm -v`) and ends with `{"exit":{exitCode,error}}`.
 * The headers go once it started (the client then proxies its signals); a start that fails
 * answers with start's error, the container removed first with `remove=1`. A client that goes
 * away does not stop it: it is still removed once it exits, as Docker's AutoRemove does.
 */
async function containerRun({ engine, res, params, query }: Call) {
  const svc = engine.containers;
  const remove = flag(query, "remove");
  const { id } = svc.find(params[0]!);
  try {
    await svc.start(id);
  } catch (err) {
    if (remove) await svc.remove(id, true, true).catch(() => {});
    throw err;
  }
  res.writeHead(200, { "Content-Type": "application/x-ndjson" });
  res.flushHeaders();
  await writeLogLines(engine, res, id, { follow: true });
  const exit = await svc.wait(id, "not-running");
  if (remove)
    await svc.remove(id, true, true).catch((err: unknown) => {
      // Removed by someone else meanwhile (`rm -f`): what remove=1 asked for is done.
      if (!(err instanceof EngineError && err.code === "NOT_FOUND")) throw err;
    });
  res.end(`${JSON.stringify({ exit })}\n`);
}

/** A container record with its `health` (Docker's `State.Health` document, or null). */
function withHealthView<T extends { id: string }>(
  engine: Engine,
  rec: T,
): T & { health: HealthState | null } {
  return { ...rec, health: engine.health.state(rec.id) ?? null };
}

const one = (verb: string) => new RegExp(`^/containers/([^/]+)/${verb}$`);

/** The container routes of pier's API (paths without `/v1`). */
const pierContainerRoutes: readonly Route[] = [
  ["GET", /^\/containers$/, containerList],
  ["GET", /^\/containers\/([^/]+)$/, containerInspect],
  ["DELETE", /^\/containers\/([^/]+)$/, containerRemove],
  ["GET", one("logs"), containerLogs],
  ["POST", /^\/containers$/, containerCreate],
  ["POST", one("start"), containerStart],
  ["POST", one("run"), containerRun],
  ["POST", one("stop"), containerStop],
  ["POST", one("restart"), containerRestart],
  ["POST", one("kill"), containerKill],
  ["POST", one("wait"), containerWait],
];

/** The named images' rows, then a `<none>` row per dangling image, passing `filters` (Docker's). */
async function imageList({ engine, res, query }: Call) {
  const images = engine.images;
  const details = await Promise.all((await images.local()).map((i) => images.details(i)));
  const find = async (ref: string) => images.details((await images.find(ref)).image);
  const passing = await filterImages(details, parseFilters(query.get("filters")), find);
  const shown = new Set(
    passing.flatMap((p) => p.details.image.names.filter((n) => p.tags.includes(familiarName(n)))),
  );
  const dangling = passing
    .filter((p) => !p.details.image.names.length)
    .map(({ details: d }) => ({
      name: "<none>:<none>",
      repository: "<none>",
      tag: "<none>",
      digest: d.image.root,
      id: d.image.id,
      platform: "",
      ...(d.created ? { created: d.created } : {}),
      size: d.size,
    }));
  sendJson(res, 200, [...(await images.list()).filter((r) => shown.has(r.name)), ...dangling]);
}

async function imagePull({ engine, req, res }: Call) {
  const body = (await readJson(req)) as { ref?: unknown };
  if (typeof body.ref !== "string" || !body.ref) throw new EngineError("INVALID_ARGUMENT", "ref is required");
  let started = false;
  const line = (v: unknown) => {
    if (!started) {
      started = true;
      res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    }
    res.write(`${JSON.stringify(v)}\n`);
  };
  try {
    const result = await engine.images.pull(body.ref, (e) => line({ progress: e }));
    line({ done: { digest: result.digest } });
    res.end();
  } catch (err) {
    if (!started) throw err;
    res.end(`${JSON.stringify({ error: { message: (err as Error).message } })}\n`);
  }
}

/** The image routes of pier's API: list and pull (JSON lines of progress, then `done`). */
const pierImageRoutes: readonly Route[] = [
  ["GET", /^\/images$/, imageList],
  ["POST", /^\/images\/pull$/, imagePull],
];

function version({ engine, res }: Call) {
  sendJson(res, 200, { version: PIER_VERSION, api: PIER_API_VERSION, snapshotter: engine.snapshots.driver });
}

/** Every route of pier's API (paths without `/v1`), in matching order. */
export const pierRoutes: readonly Route[] = [
  ["GET", /^\/version$/, version],
  ...pierVerbRoutes,
  ...pierImageRoutes,
  ...pierTtyRoutes,
  ...pierOpsRoutes,
  ...pierNetworkRoutes,
  ...pierCheckpointRoutes,
  ...pierContainerRoutes,
  ...pierUpdateRoutes,
];

/** Handles one request of pier's own API. */
export function pierApi(engine: Engine): (req: IncomingMessage, res: ServerResponse) => void {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path: full, query } = apiPath(req.url ?? "/");
    const method = req.method ?? "GET";
    if (!full.startsWith("/v1/"))
      throw new EngineError("NOT_FOUND", `no such API path ${full} (this is pier API v1)`);
    const path = full.slice(3);
    const found = matchRoute(pierRoutes, method, path);
    if (!found) throw new EngineError("NOT_FOUND", `no such API path ${method} ${full}`);
    // Only POST and PUT (an archive upload) have bodies the handlers read.
    if (method !== "POST" && method !== "PUT") req.resume();
    await found.route[2]({ engine, req, res, method, path, query, params: found.params });
  }
  return (req, res) => {
    route(req, res).catch((err) => sendError(res, err));
  };
}
