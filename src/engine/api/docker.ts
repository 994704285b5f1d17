/**
 * The Docker Engine API subset (advertising API 1.41) that the stock `docker` CLI needs, as one
 * route table over the engine: each family's routes are in `docker-<family>.ts`; versioned paths
 * (`/v1.41/...`) and bare ones both work. Errors are `{"message"}` with
 * `Content-Type: application/json`: 404 for a missing image (so the CLI pulls it), 409 for
 * conflicts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "../engine.js";
import { EngineError } from "../error.js";
import { dockerCheckpointRoutes } from "./docker-checkpoints.js";
import { dockerAttachUpgrade, dockerContainerRoutes, refuseUpgrade } from "./docker-containers.js";
import { dockerExecRoutes, dockerExecUpgrade } from "./docker-exec.js";
import { dockerImageRoutes } from "./docker-images.js";
import { dockerNetworkRoutes } from "./docker-networks.js";
import { dockerSystemRoutes } from "./docker-system.js";
import { dockerVerbRoutes } from "./docker-verbs.js";
import { dockerVolumeRoutes } from "./docker-volumes.js";
import { sendError } from "./http.js";
import { apiPath, matchRoute, type Route, type UpgradeRoute } from "./router.js";
import { dockerUpdateRoutes } from "./update-handlers.js";

/** Request handlers of the Docker socket. */
export interface DockerApi {
  request(req: IncomingMessage, res: ServerResponse): void;
  /** The 101 hijack of `attach` and `exec start` (HTTP `Upgrade: tcp`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * `POST /build`, whose handler (the builder, its Dockerfile parser and steps: ~15 modules) is
 * loaded at the first build, not by every pierd at start.
 */
const dockerBuildRoutes: readonly Route[] = [
  ["POST", /^\/build$/, async (call) => (await import("./docker-build.js")).dockerBuild(call)],
];

/** Every route of the Docker API, in matching order. */
export const dockerRoutes: readonly Route[] = [
  ...dockerVerbRoutes,
  ...dockerSystemRoutes,
  ...dockerImageRoutes,
  ...dockerBuildRoutes,
  ...dockerVolumeRoutes,
  ...dockerNetworkRoutes,
  ...dockerExecRoutes,
  ...dockerCheckpointRoutes,
  ...dockerContainerRoutes,
  ...dockerUpdateRoutes,
];

/** The connection hijacks (`Upgrade: tcp`) of the Docker API. */
export const dockerUpgrades: readonly UpgradeRoute[] = [dockerExecUpgrade, dockerAttachUpgrade];

/** Builds the Docker API over the engine. */
export function dockerApi(engine: Engine): DockerApi {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = apiPath(req.url ?? "/");
    const method = req.method ?? "GET";
    const found = matchRoute(dockerRoutes, method, path);
    if (!found) throw new EngineError("NOT_FOUND", `page not found: ${method} ${path}`);
    // Only POST and PUT (an archive upload) have bodies the handlers read.
    if (method !== "POST" && method !== "PUT") req.resume();
    await found.route[2]({ engine, req, res, method, path, query, params: found.params });
  }
  return {
    request(req, res) {
      route(req, res).catch((err) => sendError(res, err));
    },
    upgrade(req, socket, head) {
      const { path, query } = apiPath(req.url ?? "/");
      const found = matchRoute(dockerUpgrades, req.method ?? "GET", path);
      if (!found) {
        refuseUpgrade(socket, 404, `page not found: ${req.method} ${path}`);
        return;
      }
      found.route[2]({ engine, req, socket, head, query, params: found.params });
    },
  };
}
