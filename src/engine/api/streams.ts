/**
 * The two streams both fronts serve in Docker's shape: `/events` (JSON lines, with `since`,
 * `until` and `filters`) and container stats (one-shot or one object a second).
 */
import type { ServerResponse } from "node:http";
import type { Engine } from "../engine.js";
import { EngineError } from "../error.js";
import { type EngineEvent, eventMatches, unknownEventFilter } from "../events.js";
import { dockerStats, hostMemory, type StatsSample } from "../stats.js";
import { parseFilters } from "./docker-types.js";
import { flag, timeParam } from "./http.js";

/** Streams the events (Docker's query: `since`, `until`, `filters`) until closed or `until`. */
export async function streamEvents(engine: Engine, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const filters = parseFilters(q.get("filters"));
  const bad = unknownEventFilter(filters);
  if (bad) throw new EngineError("INVALID_ARGUMENT", `invalid filter '${bad}'`);
  const since = timeParam(q, "since");
  const until = timeParam(q, "until");
  const log = engine.events;
  res.writeHead(200, { "Content-Type": "application/json" });
  res.flushHeaders();
  const write = (e: EngineEvent) => {
    if (eventMatches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
  };
  const nowS = Date.now() / 1000;
  if (since !== undefined) for (const e of log.history(since, until)) write(e);
  if (until !== undefined && until <= nowS) {
    res.end();
    return;
  }
  log.on("event", write);
  await new Promise<void>((resolve) => {
    res.once("close", () => resolve());
    if (until !== undefined) setTimeout(resolve, (until - nowS) * 1000).unref();
  });
  log.off("event", write);
  res.end();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends Docker stats objects for `ref` (`stream`, `one-shot` as Docker's query), one a second when streaming. */
export async function streamStats(
  engine: Engine,
  ref: string,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  const svc = engine.containers;
  const rec = svc.find(ref);
  const stream = flag(q, "stream", true);
  const oneShot = flag(q, "one-shot");
  const mem = hostMemory();
  let pre: StatsSample | undefined;
  if (!stream && !oneShot) {
    // Two readings, so the one answer carries a CPU delta (Docker waits for its collector too).
    pre = await engine.stats.sample(svc.store.get(rec.id) ?? rec);
    if (pre) await sleep(500);
  }
  res.writeHead(200, { "Content-Type": "application/json" });
  if (!stream) {
    const cur = await engine.stats.sample(svc.store.get(rec.id) ?? rec);
    res.end(`${JSON.stringify(dockerStats(rec, cur, pre, mem))}\n`);
    return;
  }
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  while (!closed) {
    const now = svc.store.get(rec.id);
    if (!now) break;
    const cur = await engine.stats.sample(now);
    res.write(`${JSON.stringify(dockerStats(rec, cur, pre, mem))}\n`);
    pre = cur;
    await sleep(1000);
  }
  res.end();
}
