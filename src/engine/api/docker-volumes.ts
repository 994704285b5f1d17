/** The Docker API's volume routes (`docker volume create|ls|inspect|rm|prune`). */
import { parseFilters } from "./docker-types.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

async function volumeList({ engine, res, query }: Call) {
  const volumes = engine.volumes;
  sendJson(res, 200, { Volumes: await volumes.list(parseFilters(query.get("filters"))), Warnings: [] });
}

async function volumeCreate({ engine, req, res }: Call) {
  const volumes = engine.volumes;
  const b = obj(await readJson(req));
  const name = typeof b.Name === "string" ? b.Name : undefined;
  sendJson(
    res,
    201,
    await volumes.create({ name, driver: b.Driver, driverOpts: b.DriverOpts, labels: b.Labels }),
  );
}

function volumeInspect({ engine, req, res, params }: Call) {
  const volumes = engine.volumes;
  req.resume();
  sendJson(res, 200, volumes.inspect(params[0]!));
}

async function volumeRemove({ engine, req, res, params }: Call) {
  const volumes = engine.volumes;
  req.resume();
  await volumes.remove(params[0]!);
  res.writeHead(204).end();
}

async function volumePrune({ engine, req, res, query }: Call) {
  const volumes = engine.volumes;
  req.resume();
  const r = await volumes.prune(parseFilters(query.get("filters")));
  sendJson(res, 200, {
    VolumesDeleted: r.deleted.length ? r.deleted : null,
    SpaceReclaimed: r.spaceReclaimed,
  });
}

/** The volume routes of the Docker API. */
export const dockerVolumeRoutes: readonly Route[] = [
  ["GET", /^\/volumes$/, volumeList],
  ["POST", /^\/volumes\/create$/, volumeCreate],
  ["POST", /^\/volumes\/prune$/, volumePrune],
  ["GET", /^\/volumes\/([^/]+)$/, volumeInspect],
  ["DELETE", /^\/volumes\/([^/]+)$/, volumeRemove],
];
