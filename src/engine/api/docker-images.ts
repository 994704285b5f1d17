/**
 * The Docker API's image routes beyond list and pull: inspect (`GET /images/{name}/json`), tag,
 * remove (`DELETE /images/{name}` with Docker's untag-vs-delete rules and 409 conflicts), push
 * with Docker's JSON progress lines, and prune. Image ids are manifest digests, as in
 * `/images/json` and a container's `Image`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseReference, Reference, tryParseReference } from "../../oci/reference.js";
import type { ProgressEvent } from "../../remote/index.js";
import type { ContainerService } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";
import { eventLog } from "../events.js";
import { parseFilters } from "./docker-types.js";
import { flag, sendJson } from "./http.js";

/** One local image: every name of one root, and the manifest digest containers record. */
export interface LocalImage {
  /** Root descriptor digest (manifest or index): the image id. */
  id: string;
  /** Digest of the host platform's manifest (what `ContainerRecord.imageId` holds). */
  manifest: string;
  /** Full names (`docker.io/library/busybox:latest`). */
  names: string[];
}

/** What `rmi` does: names to untag, whether the image goes, or the conflict that stops it. */
export type RmiPlan = { untag: string[]; remove: boolean } | { conflict: string; status: "conflict" };

/**
 * Docker's rules for `DELETE /images/{ref}` (moby `image_delete.go`). `byName` is the name the
 * reference matched, when it was a name rather than an id. Untagging one of several names never
 * conflicts; removing the last name or the image conflicts with a container that uses it unless
 * `force`, and with a running one even then; an id with several names needs `force`. Pure.
 */
export function planRmi(
  image: LocalImage,
  byName: string | undefined,
  users: readonly Pick<ContainerRecord, "id" | "status">[],
  force: boolean,
): RmiPlan {
  const short = image.id.replace(/^sha256:/, "").slice(0, 12);
  if (byName !== undefined && image.names.length > 1) return { untag: [byName], remove: false };
  if (byName === undefined && image.names.length > 1 && !force)
    return {
      status: "conflict",
      conflict: `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    };
  const running = users.find((u) => u.status === "running");
  const user = users[0];
  if (user && !force)
    return {
      status: "conflict",
      conflict:
        byName !== undefined
          ? `conflict: unable to remove repository reference "${familiar(byName)}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${short}`
          : `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${user.id.slice(0, 12)}`,
    };
  if (running)
    return {
      status: "conflict",
      conflict: `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`,
    };
  return { untag: byName !== undefined ? [byName] : image.names, remove: true };
}

function familiar(name: string): string {
  return tryParseReference(name)?.familiar() ?? name;
}

/** Every local image, grouped by root digest. */
export async function localImages(svc: ContainerService): Promise<LocalImage[]> {
  const store = svc.images.store;
  const byId = new Map<string, LocalImage>();
  for (const { name, descriptor } of await store.list()) {
    let entry = byId.get(descriptor.digest);
    if (!entry) {
      let manifest: string = descriptor.digest;
      try {
        manifest = (await store.resolveDescriptor(descriptor)).descriptor.digest;
      } catch {
        // A damaged image still has its names to remove.
      }
      entry = { id: descriptor.digest, manifest, names: [] };
      byId.set(descriptor.digest, entry);
    }
    entry.names.push(name);
  }
  return [...byId.values()];
}

/** Finds `ref` among the local images: `404 No such image` otherwise. */
async function findImage(
  svc: ContainerService,
  ref: string,
): Promise<{ image: LocalImage; byName: string | undefined; all: LocalImage[] }> {
  let found: Awaited<ReturnType<typeof svc.images.store.find>>;
  try {
    found = await svc.images.store.find(ref);
  } catch (err) {
    if ((err as { code?: string }).code === "AMBIGUOUS_REFERENCE") throw err;
    throw new EngineError("IMAGE_NOT_FOUND", `No such image: ${ref}`, { cause: err });
  }
  const all = await localImages(svc);
  const image = all.find((i) => i.id === found.descriptor.digest);
  if (!image) throw new EngineError("IMAGE_NOT_FOUND", `No such image: ${ref}`);
  const byName = found.name !== undefined && !/^(sha256:)?[a-f0-9]{4,64}$/.test(ref) ? found.name : undefined;
  return { image, byName, all };
}

/** Deletes unreachable blobs unless a container still needs an image no name reaches. */
async function collectIfSafe(svc: ContainerService): Promise<number> {
  const named = new Set((await localImages(svc)).map((i) => i.manifest));
  if (svc.list().some((c) => !named.has(c.imageId))) return 0;
  return (await svc.images.collect()).removedBytes;
}

/**
 * Removes (or untags) image `ref` as `docker rmi` does; resolves with Docker's delete records
 * (`[{"Untagged":…},{"Deleted":…}]`). `IMAGE_NOT_FOUND` (404) or `INVALID_STATE` (409).
 */
export async function removeImage(
  svc: ContainerService,
  ref: string,
  force: boolean,
): Promise<Record<string, string>[]> {
  const { image, byName } = await findImage(svc, ref);
  const users = svc.list().filter((c) => c.imageId === image.manifest || c.imageId === image.id);
  const plan = planRmi(image, byName, users, force);
  if ("conflict" in plan) throw new EngineError("INVALID_STATE", plan.conflict);
  await svc.images.untag(plan.untag);
  const records: Record<string, string>[] = plan.untag.map((n) => ({ Untagged: familiar(n) }));
  const events = eventLog(svc);
  for (const n of plan.untag) events.record("image", "untag", image.id, { name: familiar(n) });
  if (plan.remove) {
    records.push({ Deleted: image.id });
    events.record("image", "delete", image.id, { name: image.id });
    await collectIfSafe(svc);
  }
  return records;
}

/** Docker's `POST /images/prune`: without `dangling=false` only unreachable blobs go (pier keeps no untagged images); with it every image no container uses. */
export async function pruneImages(
  svc: ContainerService,
  filters: Record<string, string[]>,
): Promise<{ ImagesDeleted: Record<string, string>[] | null; SpaceReclaimed: number }> {
  for (const k of Object.keys(filters))
    if (k !== "dangling") throw new EngineError("INVALID_ARGUMENT", `invalid filter '${k}'`);
  const all = filters.dangling?.some((v) => v === "false" || v === "0") === true;
  const deleted: Record<string, string>[] = [];
  if (all) {
    const used = new Set(svc.list().map((c) => c.imageId));
    for (const image of await localImages(svc)) {
      if (used.has(image.manifest) || used.has(image.id)) continue;
      await svc.images.untag(image.names);
      for (const n of image.names) deleted.push({ Untagged: familiar(n) });
      deleted.push({ Deleted: image.id });
      eventLog(svc).record("image", "delete", image.id, { name: image.id });
    }
  }
  const SpaceReclaimed = await collectIfSafe(svc);
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed };
}

/** Docker's `GET /images/{name}/json` document. */
export async function inspectImageDocker(
  svc: ContainerService,
  ref: string,
): Promise<Record<string, unknown>> {
  const { image } = await findImage(svc, ref);
  const img = await svc.images.resolve(image.names[0] ?? image.id);
  const c = img.config;
  const size = img.manifest.layers.reduce((a, l) => a + l.size, 0);
  const cfg = c.config ?? {};
  return {
    Id: image.id,
    RepoTags: image.names.map(familiar),
    RepoDigests: [],
    Parent: "",
    Comment: "",
    Created: c.created ?? "0001-01-01T00:00:00Z",
    DockerVersion: "",
    Author: c.author ?? "",
    Config: {
      Hostname: "",
      Domainname: "",
      User: cfg.User ?? "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(cfg.ExposedPorts ? { ExposedPorts: cfg.ExposedPorts } : {}),
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: cfg.Env ?? null,
      Cmd: cfg.Cmd ?? null,
      Image: "",
      Volumes: cfg.Volumes ?? null,
      WorkingDir: cfg.WorkingDir ?? "",
      Entrypoint: cfg.Entrypoint ?? null,
      OnBuild: null,
      Labels: cfg.Labels ?? null,
      ...(cfg.StopSignal ? { StopSignal: cfg.StopSignal } : {}),
    },
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    VirtualSize: size,
    GraphDriver: { Name: svc.snapshots.driver, Data: null },
    RootFS: { Type: "layers", Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
  };
}

/** Docker's push progress line for one transfer event; `undefined` for those Docker does not show. Pure. */
export function pushProgressLine(e: ProgressEvent): Record<string, unknown> | undefined {
  const id = "id" in e && e.id ? e.id.replace(/^sha256:/, "").slice(0, 12) : "";
  switch (e.type) {
    case "start":
      return { status: "Preparing", progressDetail: {}, id };
    case "bytes":
      return { status: "Pushing", progressDetail: { current: e.transferred, total: e.size }, id };
    case "done":
      return { status: "Pushed", progressDetail: {}, id };
    case "exists":
    case "mounted":
      return { status: "Layer already exists", progressDetail: {}, id };
    default:
      return undefined;
  }
}

async function pushImage(
  svc: ContainerService,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  tag: string | null,
): Promise<void> {
  req.resume();
  const ref = parseReference(tag ? `${name}:${tag}` : name);
  // Resolve before answering 200, so a missing image is a plain 404.
  await svc.images.resolve(ref.toString());
  res.writeHead(200, { "Content-Type": "application/json" });
  const send = (line: Record<string, unknown>) => res.write(`${JSON.stringify(line)}\r\n`);
  send({
    status: `The push refers to repository [${new Reference(ref.registry, ref.repository).familiar()}]`,
  });
  try {
    const layers = new Set<string>();
    const result = await svc.images.push(ref.toString(), (e) => {
      if (e.type === "start" && e.kind === "layer") layers.add(e.id);
      if (!("id" in e) || !e.id || !layers.has(e.id)) return;
      const line = pushProgressLine(e);
      if (line) send(line);
    });
    const t = ref.tag ?? "latest";
    send({ status: `${t}: digest: ${result.digest} size: ${result.size}` });
    send({ progressDetail: {}, aux: { Tag: t, Digest: result.digest, Size: result.size } });
    eventLog(svc).record("image", "push", familiar(ref.toString()), { name: familiar(ref.toString()) });
  } catch (err) {
    const message = (err as Error).message;
    send({ errorDetail: { message }, error: message });
  }
  res.end();
}

/**
 * Handles the image routes of the Docker API; resolves false when `path` is not one of them.
 */
export async function dockerImageRoutes(
  svc: ContainerService,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
  q: URLSearchParams,
): Promise<boolean> {
  if (method === "POST" && path === "/images/prune") {
    req.resume();
    sendJson(res, 200, await pruneImages(svc, parseFilters(q.get("filters"))));
    return true;
  }
  const m = /^\/images\/(.+?)(?:\/(json|tag|push|history))?$/.exec(path);
  if (!m || path === "/images/json" || path === "/images/create") return false;
  const ref = decodeURIComponent(m[1]!);
  const verb = m[2] ?? "";
  if (method === "GET" && verb === "json") {
    req.resume();
    sendJson(res, 200, await inspectImageDocker(svc, ref));
    return true;
  }
  if (method === "POST" && verb === "tag") {
    req.resume();
    const repo = q.get("repo");
    if (!repo) throw new EngineError("INVALID_ARGUMENT", "repo is required");
    const target = `${repo}${q.get("tag") ? `:${q.get("tag")}` : ""}`;
    const name = await svc.images.tag(ref, target);
    eventLog(svc).record("image", "tag", (await findImage(svc, name)).image.id, { name: familiar(name) });
    res.writeHead(201).end();
    return true;
  }
  if (method === "POST" && verb === "push") {
    await pushImage(svc, req, res, ref, q.get("tag"));
    return true;
  }
  if (method === "DELETE" && verb === "") {
    req.resume();
    sendJson(res, 200, await removeImage(svc, ref, flag(q, "force")));
    return true;
  }
  return false;
}
