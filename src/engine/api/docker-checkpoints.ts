/**
 * The Docker API's checkpoint routes (`docker checkpoint create|ls|rm`; `start?checkpoint=` is
 * in docker-containers.ts), translated to the engine's checkpoints.
 */
import { EngineError } from "../error.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

async function checkpointCreate({ engine, req, res, params }: Call) {
  const body = (await readJson(req)) as { CheckpointID?: unknown; CheckpointDir?: unknown; Exit?: unknown };
  if (typeof body.CheckpointID !== "string" || !body.CheckpointID)
    throw new EngineError("INVALID_ARGUMENT", "CheckpointID is required");
  if (body.CheckpointDir !== undefined && typeof body.CheckpointDir !== "string")
    throw new EngineError("INVALID_ARGUMENT", "CheckpointDir must be a string");
  if (body.Exit !== undefined && typeof body.Exit !== "boolean")
    throw new EngineError("INVALID_ARGUMENT", "Exit must be a boolean");
  await engine.checkpoints.create(params[0]!, {
    name: body.CheckpointID,
    ...(body.CheckpointDir ? { checkpointDir: body.CheckpointDir } : {}),
    // Docker's default is to stop the container (`Exit`); the CLI sends false for --leave-running.
    leaveRunning: body.Exit === false,
  });
  res.writeHead(201).end();
}

function checkpointList({ engine, res, params, query }: Call) {
  const rows = engine.checkpoints.list(params[0]!, query.get("dir") || undefined);
  sendJson(
    res,
    200,
    rows.map((c) => ({ Name: c.name })),
  );
}

async function checkpointRemove({ engine, res, params, query }: Call) {
  await engine.checkpoints.remove(params[0]!, params[1]!, query.get("dir") || undefined);
  res.writeHead(204).end();
}

/** The checkpoint routes of the Docker API. */
export const dockerCheckpointRoutes: readonly Route[] = [
  ["POST", /^\/containers\/([^/]+)\/checkpoints$/, checkpointCreate],
  ["GET", /^\/containers\/([^/]+)\/checkpoints$/, checkpointList],
  ["DELETE", /^\/containers\/([^/]+)\/checkpoints\/([^/]+)$/, checkpointRemove],
];
