/**
 * Handlers of endpoints whose wire form is the same on both fronts: the container signals and
 * freezes (an empty 204), and the streams of stats and events (Docker's documents, which pier's
 * API serves as they are). Each front's route table names them at its own paths.
 */
import type { Call } from "./router.js";
import { streamEvents, streamStats } from "./streams.js";

/** `POST …/containers/{id}/kill?signal=S` (default SIGKILL): 204. */
export async function containerKill({ engine, res, params, query }: Call) {
  await engine.containers.kill(params[0]!, query.get("signal") || "SIGKILL");
  res.writeHead(204).end();
}

/** `POST …/containers/{id}/pause`: 204. */
export async function containerPause({ engine, res, params }: Call) {
  await engine.containers.pause(params[0]!);
  res.writeHead(204).end();
}

/** `POST …/containers/{id}/unpause`: 204. */
export async function containerUnpause({ engine, res, params }: Call) {
  await engine.containers.unpause(params[0]!);
  res.writeHead(204).end();
}

/** `GET …/containers/{id}/stats`: Docker's stats objects. */
export function containerStats({ engine, res, params, query }: Call) {
  return streamStats(engine, params[0]!, res, query);
}

/** `GET …/events`: Docker's event messages. */
export function systemEvents({ engine, res, query }: Call) {
  return streamEvents(engine, res, query);
}
