/**
 * pier's own API for networks (`/v1/networks...`, in docs/engine-api.yaml): list, create,
 * inspect, remove (409 while a container is configured for it). Bodies are the network
 * service's own types plus the containers attached now.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ContainerService } from "../containers/service.js";
import type { NetworkDefinition } from "../network/conflist.js";
import { NetworkError } from "../network/error.js";
import type { PortMapping } from "../network/ports.js";
import { readJson, sendJson } from "./http.js";

/** A network with the containers attached to it now (`GET /v1/networks/{ref}`). */
export interface NetworkView extends NetworkDefinition {
  containers: { id: string; name: string; address: string }[];
}

function view(svc: ContainerService, def: NetworkDefinition): NetworkView {
  return {
    ...def,
    containers: svc.networks
      .attachments()
      .flatMap((a) =>
        [
          { networkId: a.networkId, address: a.address },
          ...(a.endpoints ?? []).map((e) => ({ networkId: e.networkId, address: e.address })),
        ]
          .filter((e) => e.networkId === def.id)
          .map((e) => ({ id: a.id, name: a.name, address: e.address ?? "" })),
      ),
  };
}

function labelsOf(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string"))
    throw new NetworkError("INVALID_ARGUMENT", "labels must map strings to strings");
  return v as Record<string, string>;
}

/** A container's live network, as pier's API adds it to container records (`null` when it has none). */
export interface ContainerNetworkView {
  network: string;
  address: string;
  gateway: string;
  mac: string;
  ports: PortMapping[];
}

/** `rec` with its live network (`network`), for `GET /v1/containers[/{ref}]`. */
export function withNetworkView<T extends { id: string }>(
  svc: ContainerService,
  rec: T,
): T & { network: ContainerNetworkView | null } {
  const a = svc.networks.attachment(rec.id);
  return {
    ...rec,
    network: a
      ? {
          network: a.network ?? "none",
          address: a.address ?? "",
          gateway: a.gateway ?? "",
          mac: a.mac ?? "",
          ports: a.ports,
        }
      : null,
  };
}

/** Serves `/networks...` of pier's API (path without `/v1`); `false` for any other path. */
export async function pierNetworkRoutes(
  svc: ContainerService,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
): Promise<boolean> {
  if (path !== "/networks" && !path.startsWith("/networks/")) return false;
  if (method === "GET" && path === "/networks") {
    req.resume();
    sendJson(
      res,
      200,
      svc.networks.list().map((d) => view(svc, d)),
    );
    return true;
  }
  if (method === "POST" && path === "/networks") {
    const b = (await readJson(req)) as Record<string, unknown>;
    const str = (k: string) => {
      const v = b[k];
      if (v === undefined || v === null || v === "") return undefined;
      if (typeof v !== "string") throw new NetworkError("INVALID_ARGUMENT", `${k} must be a string`);
      return v;
    };
    const name = str("name");
    if (!name) throw new NetworkError("INVALID_ARGUMENT", "name is required");
    const subnet = str("subnet");
    const gateway = str("gateway");
    const def = svc.networks.create({
      name,
      ...(subnet ? { subnet } : {}),
      ...(gateway ? { gateway } : {}),
      labels: labelsOf(b.labels),
    });
    sendJson(res, 201, view(svc, def));
    return true;
  }
  const verb = /^\/networks\/([^/]+)\/(connect|disconnect)$/.exec(path);
  if (verb && method === "POST") {
    const b = (await readJson(req)) as Record<string, unknown>;
    if (typeof b.container !== "string" || !b.container)
      throw new NetworkError("INVALID_ARGUMENT", "container is required");
    const aliases = b.aliases;
    if (aliases !== undefined && (!Array.isArray(aliases) || aliases.some((a) => typeof a !== "string")))
      throw new NetworkError("INVALID_ARGUMENT", "aliases must be an array of strings");
    const def = svc.networks.find(decodeURIComponent(verb[1]!));
    const rec = svc.find(b.container);
    const request = {
      id: rec.id,
      name: rec.name,
      dir: svc.dir(rec.id),
      ...(rec.config.networkMode !== undefined ? { mode: rec.config.networkMode } : {}),
    };
    if (verb[2] === "connect")
      await svc.networks.connect(request, def.id, (aliases as string[] | undefined) ?? []);
    else await svc.networks.disconnect(request, def.id);
    sendJson(res, 200, view(svc, def));
    return true;
  }
  const m = /^\/networks\/([^/]+)$/.exec(path);
  if (!m) return false;
  req.resume();
  const ref = decodeURIComponent(m[1]!);
  if (method === "GET") {
    sendJson(res, 200, view(svc, svc.networks.find(ref)));
    return true;
  }
  if (method === "DELETE") {
    const def = svc.networks.find(ref);
    await svc.networks.remove(def.id, svc.networkUsers(def.id));
    res.writeHead(204).end();
    return true;
  }
  return false;
}
