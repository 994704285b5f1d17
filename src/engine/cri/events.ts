/**
 * GetContainerEvents: the kubelet's evented PLEG stream, fed from the engine's own event log
 * (the events `docker events` shows), as containerd feeds it from its task events: a CRI
 * container's or sandbox's create, start, exit and removal become CONTAINER_CREATED / STARTED /
 * STOPPED / DELETED events with the pod's status and its containers' statuses at that moment.
 */

import type { Engine } from "../engine.js";
import type { EngineEvent } from "../events.js";
import { CriContainers } from "./containers.js";
import type { Message, StreamHandler } from "./grpc.js";
import { STATE_LABEL } from "./labels.js";
import { Sandboxes } from "./sandbox.js";

/** The CRI event of each engine action that has one. */
export const CRI_EVENT_TYPES: Readonly<Record<string, string>> = {
  create: "CONTAINER_CREATED_EVENT",
  start: "CONTAINER_STARTED_EVENT",
  die: "CONTAINER_STOPPED_EVENT",
  destroy: "CONTAINER_DELETED_EVENT",
};

/** The CRI object an engine event is about: its kind and pod, from the CRI state label. Pure. */
export function criSubject(e: EngineEvent): { kind: "sandbox" | "container"; sandboxId: string } | undefined {
  if (e.Type !== "container") return undefined;
  const text = e.Actor.Attributes[STATE_LABEL];
  if (!text) return undefined;
  try {
    const state = JSON.parse(text) as { kind?: string; sandboxId?: string };
    if (state.kind === "sandbox") return { kind: "sandbox", sandboxId: e.Actor.ID };
    if (state.kind === "container" && typeof state.sandboxId === "string")
      return { kind: "container", sandboxId: state.sandboxId };
  } catch {}
  return undefined;
}

/** The GetContainerEvents handler: streams until the client goes. */
export function containerEvents(
  engine: Engine,
  sandboxes: Sandboxes,
  containers: CriContainers,
): StreamHandler {
  const response = async (e: EngineEvent, type: string, sandboxId: string): Promise<Message> => {
    const out: Message = {
      container_id: e.Actor.ID,
      container_event_type: type,
      created_at: String(BigInt(e.timeNano)),
    };
    const pod = sandboxes.list().find((s) => s.rec.id === sandboxId);
    if (pod) out.pod_sandbox_status = sandboxes.status(pod.rec, pod.state);
    const statuses: Message[] = [];
    for (const rec of sandboxes.members(sandboxId)) {
      try {
        const { state } = containers.find(rec.id);
        statuses.push(await containers.statusOf(rec, state));
      } catch {
        // Removed meanwhile: its own DELETED event follows.
      }
    }
    out.containers_statuses = statuses;
    return out;
  };
  return (_req, send, signal) =>
    new Promise<void>((resolve) => {
      // One at a time, in the engine's order.
      let queue = Promise.resolve();
      const onEvent = (e: EngineEvent) => {
        const type = CRI_EVENT_TYPES[e.Action];
        const subject = type ? criSubject(e) : undefined;
        if (!type || !subject) return;
        queue = queue.then(async () => send(await response(e, type, subject.sandboxId))).catch(() => {});
      };
      engine.events.on("event", onEvent);
      signal.addEventListener(
        "abort",
        () => {
          engine.events.off("event", onEvent);
          resolve();
        },
        { once: true },
      );
    });
}

/** The RuntimeService's server-streaming methods on `engine`. */
export function runtimeStreams(engine: Engine): Record<string, StreamHandler> {
  const sandboxes = new Sandboxes(engine);
  return { GetContainerEvents: containerEvents(engine, sandboxes, new CriContainers(engine, sandboxes)) };
}
