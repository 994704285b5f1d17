/**
 * pier's own API (`/v1`, docs/engine-api.yaml) for operations: pause/unpause, stats, events,
 * image tag/remove/prune, volumes, container prune and `system info|df|prune`. Prune and removal
 * reports are the engine's own types; `info`, `df`, `stats` and `events` are Docker's documents
 * (the `--format` templates of `pier system info|df` name Docker's fields).
 */
import { EngineError } from "../error.js";
import type { Filters } from "../filters.js";
import { buildPruneOptions } from "./build-prune-options.js";
import { parseFilters } from "./docker-types.js";
import { dfDocument, infoDocument } from "./documents.js";
import { flag, readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";
import { containerPause, containerStats, containerUnpause, systemEvents } from "./shared-handlers.js";

async function systemInfo({ engine, res }: Call) {
  sendJson(res, 200, infoDocument(await engine.system.info()));
}

async function systemDf({ engine, res }: Call) {
  sendJson(res, 200, dfDocument(await engine.system.df()));
}

async function systemPrune({ engine, res, query }: Call) {
  const system = engine.system;
  sendJson(
    res,
    200,
    await system.prune({
      allImages: flag(query, "all"),
      volumes: flag(query, "volumes"),
      filters: parseFilters(query.get("filters")),
    }),
  );
}

async function systemPruneContainers({ engine, res, query }: Call) {
  const system = engine.system;
  sendJson(res, 200, await system.pruneContainers(parseFilters(query.get("filters"))));
}

/** The system routes of pier's API (paths without `/v1`). */
const pierSystemRoutes: readonly Route[] = [
  ["GET", /^\/system\/info$/, systemInfo],
  ["GET", /^\/system\/df$/, systemDf],
  ["POST", /^\/system\/prune$/, systemPrune],
  ["GET", /^\/events$/, systemEvents],
  ["POST", /^\/containers\/prune$/, systemPruneContainers],
  ["POST", /^\/networks\/prune$/, networkPrune],
  ["POST", /^\/build\/prune$/, buildPrune],
];

async function buildPrune({ engine, res, query }: Call) {
  sendJson(
    res,
    200,
    await engine.system.pruneBuildCache(parseFilters(query.get("filters")), buildPruneOptions(query)),
  );
}

async function networkPrune({ engine, res, query }: Call) {
  sendJson(res, 200, { deleted: await engine.networks.prune(parseFilters(query.get("filters"))) });
}

async function volumeList({ engine, res, query }: Call) {
  sendJson(res, 200, await engine.volumes.list(parseFilters(query.get("filters"))));
}

async function volumeCreate({ engine, req, res }: Call) {
  const volumes = engine.volumes;
  const body = (await readJson(req)) as { name?: unknown; labels?: unknown };
  if (body.name !== undefined && typeof body.name !== "string")
    throw new EngineError("INVALID_ARGUMENT", "name must be a string");
  sendJson(res, 201, await volumes.create({ name: body.name, labels: body.labels ?? {} }));
}

function volumeInspect({ engine, res, params }: Call) {
  return sendJson(res, 200, engine.volumes.inspect(params[0]!));
}

async function volumeRemove({ engine, res, params }: Call) {
  const volumes = engine.volumes;
  await volumes.remove(params[0]!);
  res.writeHead(204).end();
}

async function volumePrune({ engine, res, query }: Call) {
  const volumes = engine.volumes;
  sendJson(res, 200, await volumes.prune(parseFilters(query.get("filters"))));
}

/** The volume routes of pier's API. */
const pierVolumeRoutes: readonly Route[] = [
  ["GET", /^\/volumes$/, volumeList],
  ["POST", /^\/volumes$/, volumeCreate],
  ["POST", /^\/volumes\/prune$/, volumePrune],
  ["GET", /^\/volumes\/([^/]+)$/, volumeInspect],
  ["DELETE", /^\/volumes\/([^/]+)$/, volumeRemove],
];

async function imageRemove({ engine, res, params, query }: Call) {
  const images = engine.images;
  sendJson(res, 200, await images.remove(params[0]!, flag(query, "force")));
}

async function imageTag({ engine, req, res, params }: Call) {
  const images = engine.images;
  const body = (await readJson(req)) as { target?: unknown };
  if (typeof body.target !== "string" || !body.target)
    throw new EngineError("INVALID_ARGUMENT", "target is required");
  sendJson(res, 201, { name: await images.tag(params[0]!, body.target) });
}

async function imagePrune({ engine, res, query }: Call) {
  const filters = parseFilters(query.get("filters"));
  // `pier image prune -a` is Docker's `dangling=false`.
  const all: Filters = flag(query, "all") && !filters.dangling ? { dangling: ["false"] } : {};
  sendJson(res, 200, await engine.images.prune({ ...filters, ...all }));
}

/** Image removal, tag and prune of pier's API. */
const pierImageOpsRoutes: readonly Route[] = [
  ["POST", /^\/images\/prune$/, imagePrune],
  ["POST", /^\/images\/(.+)\/tag$/, imageTag],
  ["DELETE", /^\/images\/(.+)$/, imageRemove],
];

/** Pause, unpause and stats of pier's API. */
const pierContainerOpsRoutes: readonly Route[] = [
  ["POST", /^\/containers\/([^/]+)\/pause$/, containerPause],
  ["POST", /^\/containers\/([^/]+)\/unpause$/, containerUnpause],
  ["GET", /^\/containers\/([^/]+)\/stats$/, containerStats],
];

/** The operations routes of pier's API (paths without `/v1`). */
export const pierOpsRoutes: readonly Route[] = [
  ...pierSystemRoutes,
  ...pierVolumeRoutes,
  ...pierImageOpsRoutes,
  ...pierContainerOpsRoutes,
];
