/**
 * pier's own API (`/v1`, docs/engine-api.yaml) for operations: pause/unpause, stats, events,
 * image tag/remove/prune, volumes, container prune and `system info|df|prune`. The documents
 * are Docker's (the same functions serve the Docker socket), so both APIs agree.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ContainerService } from "../containers/service.js";
import { EngineError } from "../error.js";
import { eventLog } from "../events.js";
import { pruneImages, removeImage } from "./docker-images.js";
import {
  dockerInfo,
  pruneContainers,
  pruneVolumes,
  streamEvents,
  streamStats,
  systemDf,
} from "./docker-system.js";
import { parseFilters, volumeMatches } from "./docker-types.js";
import { flag, readJson, sendJson } from "./http.js";

/** Handles the operations routes of pier's API (`path` without `/v1`); false when not one. */
export async function pierOpsRoutes(
  svc: ContainerService,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
  q: URLSearchParams,
): Promise<boolean> {
  const filters = () => parseFilters(q.get("filters"));
  if (method === "GET" && path === "/system/info") {
    sendJson(res, 200, await dockerInfo(svc));
    return true;
  }
  if (method === "GET" && path === "/system/df") {
    sendJson(res, 200, await systemDf(svc));
    return true;
  }
  if (method === "POST" && path === "/system/prune") {
    req.resume();
    // As `docker system prune`: stopped containers, unused images with `all`, volumes with `volumes`.
    const containers = await pruneContainers(svc, {});
    const images = await pruneImages(svc, flag(q, "all") ? { dangling: ["false"] } : {});
    const volumes = flag(q, "volumes")
      ? await pruneVolumes(svc, {})
      : { VolumesDeleted: null, SpaceReclaimed: 0 };
    sendJson(res, 200, {
      ContainersDeleted: containers.ContainersDeleted,
      ImagesDeleted: images.ImagesDeleted,
      VolumesDeleted: volumes.VolumesDeleted,
      SpaceReclaimed: containers.SpaceReclaimed + images.SpaceReclaimed + volumes.SpaceReclaimed,
    });
    return true;
  }
  if (method === "GET" && path === "/events") {
    await streamEvents(svc, res, q);
    return true;
  }
  if (method === "POST" && path === "/containers/prune") {
    req.resume();
    sendJson(res, 200, await pruneContainers(svc, filters()));
    return true;
  }
  if (method === "POST" && path === "/images/prune") {
    req.resume();
    sendJson(res, 200, await pruneImages(svc, flag(q, "all") ? { dangling: ["false"] } : {}));
    return true;
  }
  if (method === "POST" && path === "/volumes/prune") {
    req.resume();
    sendJson(res, 200, await pruneVolumes(svc, filters()));
    return true;
  }
  if (method === "GET" && path === "/volumes") {
    const f = filters();
    const all = await svc.volumes.list();
    sendJson(
      res,
      200,
      all.filter((v) => volumeMatches(v, svc.volumeUsers(v.Name).length, f)),
    );
    return true;
  }
  if (method === "POST" && path === "/volumes") {
    const body = (await readJson(req)) as { name?: unknown; labels?: unknown };
    if (body.name !== undefined && typeof body.name !== "string")
      throw new EngineError("INVALID_ARGUMENT", "name must be a string");
    const labels = body.labels ?? {};
    if (
      typeof labels !== "object" ||
      labels === null ||
      Object.values(labels).some((v) => typeof v !== "string")
    )
      throw new EngineError("INVALID_ARGUMENT", "labels must map strings to strings");
    const name = body.name || randomBytes(32).toString("hex");
    if (await svc.volumes.ensure(name, labels as Record<string, string>))
      eventLog(svc).record("volume", "create", name, { driver: "local" });
    sendJson(res, 201, svc.volumes.inspect(name));
    return true;
  }
  const vol = /^\/volumes\/([^/]+)$/.exec(path);
  if (vol) {
    const name = decodeURIComponent(vol[1]!);
    req.resume();
    if (method === "GET") {
      sendJson(res, 200, svc.volumes.inspect(name));
      return true;
    }
    if (method === "DELETE") {
      await svc.removeVolume(name);
      eventLog(svc).record("volume", "destroy", name, { driver: "local" });
      res.writeHead(204).end();
      return true;
    }
    return false;
  }
  const img = /^\/images\/(.+?)(?:\/(tag))?$/.exec(path);
  if (img && path !== "/images/pull") {
    const ref = decodeURIComponent(img[1]!);
    if (method === "DELETE" && !img[2]) {
      req.resume();
      sendJson(res, 200, await removeImage(svc, ref, flag(q, "force")));
      return true;
    }
    if (method === "POST" && img[2] === "tag") {
      const body = (await readJson(req)) as { target?: unknown };
      if (typeof body.target !== "string" || !body.target)
        throw new EngineError("INVALID_ARGUMENT", "target is required");
      sendJson(res, 201, { name: await svc.images.tag(ref, body.target) });
      return true;
    }
    return false;
  }
  const c = /^\/containers\/([^/]+)\/(pause|unpause|stats)$/.exec(path);
  if (!c) return false;
  const ref = decodeURIComponent(c[1]!);
  req.resume();
  if (method === "POST" && c[2] === "pause") {
    await svc.pause(ref);
    res.writeHead(204).end();
    return true;
  }
  if (method === "POST" && c[2] === "unpause") {
    await svc.unpause(ref);
    res.writeHead(204).end();
    return true;
  }
  if (method === "GET" && c[2] === "stats") {
    await streamStats(svc, ref, res, q);
    return true;
  }
  return false;
}
