/**
 * pier's own API for networks (`/v1/networks...`, in docs/engine-api.yaml): list, create,
 * inspect, remove (409 while a container is configured for it). Bodies are the network
 * service's own types plus the containers attached now.
 */
import type { Engine } from "../engine.js";
import type { NetworkDefinition } from "../network/conflist.js";
import { NetworkError } from "../network/error.js";
import type { ContainerNetworkView, NetworkView } from "../network/view.js";
import { dockerNetwork, networkMatches } from "./docker-networks.js";
import { parseFilters } from "./docker-types.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

function view(svc: Engine, def: NetworkDefinition): NetworkView {
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

/** `rec` with its live network (`network`), for `GET /v1/containers[/{ref}]`. */
export function withNetworkView<T extends { id: string }>(
  svc: Engine,
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

function stringField(b: Record<string, unknown>, k: string): string | undefined {
  const v = b[k];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new NetworkError("INVALID_ARGUMENT", `${k} must be a string`);
  return v;
}

/** The user's networks passing `filters` (Docker's `network ls` filters, on Docker's document). */
function networkList({ engine, res, query }: Call) {
  const filters = parseFilters(query.get("filters"));
  const attachments = engine.networks.attachments();
  return sendJson(
    res,
    200,
    engine.networks
      .list()
      .filter((d) =>
        networkMatches(
          dockerNetwork(d, attachments),
          filters,
          engine.containers.networkUsers(d.id).length > 0,
        ),
      )
      .map((d) => view(engine, d)),
  );
}

async function networkCreate({ engine, req, res }: Call) {
  const net = engine.networks;
  const b = (await readJson(req)) as Record<string, unknown>;
  const name = stringField(b, "name");
  if (!name) throw new NetworkError("INVALID_ARGUMENT", "name is required");
  const subnet = stringField(b, "subnet");
  const gateway = stringField(b, "gateway");
  const def = await net.create({
    name,
    ...(subnet ? { subnet } : {}),
    ...(gateway ? { gateway } : {}),
    labels: labelsOf(b.labels),
  });
  sendJson(res, 201, view(engine, def));
}

async function networkConnectOrDisconnect({ engine, req, res, params }: Call) {
  const net = engine.networks;
  const b = (await readJson(req)) as Record<string, unknown>;
  if (typeof b.container !== "string" || !b.container)
    throw new NetworkError("INVALID_ARGUMENT", "container is required");
  const aliases = b.aliases;
  if (aliases !== undefined && (!Array.isArray(aliases) || aliases.some((a) => typeof a !== "string")))
    throw new NetworkError("INVALID_ARGUMENT", "aliases must be an array of strings");
  const def = net.find(params[0]!);
  if (params[1] === "connect")
    await engine.networks.connect(b.container, def.id, (aliases as string[] | undefined) ?? []);
  else await engine.networks.disconnect(b.container, def.id);
  sendJson(res, 200, view(engine, def));
}

function networkInspect({ engine, res, params }: Call) {
  return sendJson(res, 200, view(engine, engine.networks.find(params[0]!)));
}

async function networkRemove({ engine, res, params }: Call) {
  await engine.networks.remove(params[0]!);
  res.writeHead(204).end();
}

/** The network routes of pier's API (paths without `/v1`). */
export const pierNetworkRoutes: readonly Route[] = [
  ["GET", /^\/networks$/, networkList],
  ["POST", /^\/networks$/, networkCreate],
  ["POST", /^\/networks\/([^/]+)\/(connect|disconnect)$/, networkConnectOrDisconnect],
  ["GET", /^\/networks\/([^/]+)$/, networkInspect],
  ["DELETE", /^\/networks\/([^/]+)$/, networkRemove],
];
