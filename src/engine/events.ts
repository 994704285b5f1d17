/**
 * The engine's event log: what happened to containers, images and volumes, in Docker's event
 * message shape (API 1.41 `/events`), kept in memory (the last {@link EVENT_HISTORY} events) so
 * `since` can replay them, and streamed to subscribers as they happen.
 */
import { EventEmitter } from "node:events";
import type { ContainerService } from "./containers/service.js";
import { FILTER_KEYS, type Filters, matchKVList } from "./filters.js";

/** How many past events are kept for `since`. */
export const EVENT_HISTORY = 1024;

/** The object kinds Docker reports events for (pier emits container, image, volume and network, and builder prune). */
export type EventType = "container" | "image" | "volume" | "network" | "daemon" | "builder";

/** One event as Docker's `/events` sends it. */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
  /** Deprecated top-level fields the CLI still reads for containers. */
  status?: string;
  id?: string;
  from?: string;
}

/**
 * Whether `e` passes Docker's event filters (`type`, `event`/`action`, `container`, `image`,
 * `volume`, `network`, `daemon`, `label`, `scope`; `config`, `node`, `plugin`, `secret` and
 * `service` match nothing: pier has no such objects); values of one key are alternatives, keys
 * must all match. An unknown key is refused by {@link unknownEventFilter}. Pure.
 */
export function eventMatches(e: EngineEvent, filters: Filters): boolean {
  const attr = e.Actor.Attributes;
  const idOrName = (values: readonly string[]) =>
    values.some((v) => e.Actor.ID === v || (v.length >= 4 && e.Actor.ID.startsWith(v)) || attr.name === v);
  for (const [key, values] of Object.entries(filters)) {
    if (!values.length) continue;
    switch (key) {
      case "type":
        if (!values.includes(e.Type)) return false;
        break;
      case "event":
      case "action":
        // `exec_start: sh` style actions match on their verb too, as Docker does.
        if (!values.some((v) => e.Action === v || e.Action.startsWith(`${v}:`))) return false;
        break;
      case "container":
        if (e.Type !== "container" || !idOrName(values)) return false;
        break;
      case "volume":
        if (e.Type !== "volume" || !idOrName(values)) return false;
        break;
      case "network":
        if (e.Type !== "network" || !idOrName(values)) return false;
        break;
      case "image": {
        const image = e.Type === "image" ? (attr.name ?? e.Actor.ID) : (attr.image ?? "");
        if (!values.some((v) => image === v || e.Actor.ID === v || stripLatest(image) === stripLatest(v)))
          return false;
        break;
      }
      case "label":
        if (!matchKVList(filters, "label", attr)) return false;
        break;
      case "scope":
        if (!values.includes(e.scope)) return false;
        break;
      case "daemon":
        if (e.Type !== "daemon" || !idOrName(values)) return false;
        break;
      default:
        // config, node, plugin, secret, service: swarm and plugin objects pier has none of.
        return false;
    }
  }
  return true;
}

function stripLatest(name: string): string {
  return name.replace(/:latest$/, "");
}

/** Names the first filter key Docker's `/events` does not know (answered with 400), or `undefined`. Pure. */
export function unknownEventFilter(filters: Filters): string | undefined {
  const known: readonly string[] = FILTER_KEYS.events;
  return Object.keys(filters).find((k) => !known.includes(k));
}

/** The log: `record` appends and notifies; `history` replays. Emits `event` (EngineEvent). */
export class EventLog extends EventEmitter {
  private readonly past: EngineEvent[] = [];
  private lastNano = 0n;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** Appends an event stamped now and sends it to every subscriber. */
  record(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    // Wall-clock milliseconds (hrtime's nanoseconds added to them could stamp an event up to 1 ms
    // in the future, past an `until` taken just after it), made strictly increasing so that events
    // of one millisecond keep their order.
    let nano = BigInt(Date.now()) * 1000000n;
    if (nano <= this.lastNano) nano = this.lastNano + 1n;
    this.lastNano = nano;
    const e: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: "local",
      time: Number(nano / 1000000000n),
      timeNano: Number(nano),
      ...(type === "container" ? { status: action, id, from: attributes.image ?? "" } : {}),
    };
    this.past.push(e);
    if (this.past.length > EVENT_HISTORY) this.past.splice(0, this.past.length - EVENT_HISTORY);
    this.emit("event", e);
    return e;
  }

  /** Past events with `since <= time <= until` (unix seconds, fractions allowed). */
  history(since: number, until = Number.POSITIVE_INFINITY): EngineEvent[] {
    return this.past.filter((e) => e.timeNano / 1e9 >= since && e.timeNano / 1e9 <= until);
  }
}

const logs = new WeakMap<ContainerService, EventLog>();

/**
 * The event log of a container service, created on first use and fed from then on by the
 * service's own events (create, start, kill, die, stop, restart, pause, unpause, update, destroy,
 * rename).
 */
export function eventLog(svc: ContainerService): EventLog {
  const existing = logs.get(svc);
  if (existing) return existing;
  const log = new EventLog();
  logs.set(svc, log);
  // A destroyed container has no record any more: remember names while they exist.
  const known = new Map<string, Record<string, string>>();
  const attrs = (id: string): Record<string, string> => {
    const rec = svc.store.get(id);
    if (rec) known.set(id, { ...(rec.config.labels ?? {}), name: rec.name, image: rec.config.image });
    return { ...(known.get(id) ?? { name: "", image: "" }) };
  };
  const on = (event: string, action: string, extra?: (...args: unknown[]) => Record<string, string>) =>
    svc.on(event, (id: string, ...args: unknown[]) => {
      log.record("container", action, id, { ...attrs(id), ...(extra ? extra(...args) : {}) });
      if (action === "destroy") known.delete(id);
    });
  on("create", "create");
  on("start", "start");
  on("kill", "kill", (sig) => ({ signal: String(sig) }));
  on("exit", "die", (code) => ({ exitCode: String(code ?? 0) }));
  on("stop", "stop");
  on("restart", "restart");
  on("pause", "pause");
  on("unpause", "unpause");
  on("update", "update");
  on("removed", "destroy");
  // `health_status: healthy` (the health monitor's changes of status).
  svc.on("health_status", (id: string, status: string) =>
    log.record("container", `health_status: ${status}`, id, attrs(id)),
  );
  on("rename", "rename", (old) => ({ oldName: `/${String(old)}` }));
  return log;
}
