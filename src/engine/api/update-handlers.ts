/**
 * `POST /containers/{id}/update` of both APIs (`docker update`, `pier update`): new resource
 * limits and restart policy for a container, through the container service's `update`.
 */
import { EngineError } from "../error.js";
import { refuseUnappliedUpdateFields } from "./docker-fields.js";
import { resourcesFromDocker } from "./docker-host-config.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

function object(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new EngineError("INVALID_ARGUMENT", "update must be a JSON object");
  return v as Record<string, unknown>;
}

/** Docker's body: `HostConfig` resource fields and `RestartPolicy`; 200 with `Warnings`. */
async function dockerUpdate({ engine, req, res, params }: Call) {
  const body = object(await readJson(req));
  refuseUnappliedUpdateFields(body);
  const rp = object(body.RestartPolicy ?? {});
  await engine.containers.update(params[0]!, {
    resources: resourcesFromDocker(body, true),
    ...(typeof rp.Name === "string" && rp.Name
      ? { restartPolicy: { name: rp.Name, maximumRetryCount: rp.MaximumRetryCount } }
      : {}),
  });
  sendJson(res, 200, { Warnings: [] });
}

/** pier's body: `{resources, restartPolicy}` in the engine's names; 200 with the record. */
async function pierUpdate({ engine, req, res, params }: Call) {
  const body = object(await readJson(req));
  for (const k of Object.keys(body))
    if (k !== "resources" && k !== "restartPolicy")
      throw new EngineError("INVALID_ARGUMENT", `${k} cannot be updated`);
  sendJson(res, 200, await engine.containers.update(params[0]!, body));
}

/** The Docker API's update route. */
export const dockerUpdateRoutes: readonly Route[] = [
  ["POST", /^\/containers\/([^/]+)\/update$/, dockerUpdate],
];
/** pier's API update route (paths without `/v1`). */
export const pierUpdateRoutes: readonly Route[] = [["POST", /^\/containers\/([^/]+)\/update$/, pierUpdate]];
