/**
 * The Docker API's image routes: list, pull (`POST /images/create` with Docker's JSON progress
 * lines; with `fromSrc`, an import) with the client's `X-Registry-Auth` credentials, inspect,
 * tag, push (credentials likewise), remove and prune, translated to the engine's image operations.
 * Image ids are config digests, as Docker's (a name, a config digest or a root digest, or a
 * prefix of either, finds an image).
 */
import type { ServerResponse } from "node:http";
import { parseReference, Reference } from "../../oci/reference.js";
import type { ProgressEvent, ProgressListener } from "../../remote/index.js";
import type { Engine } from "../engine.js";
import { EngineError } from "../error.js";
import { filterImages, type ImageListEntry } from "../image-filters.js";
import { familiarName, type ImageDetails } from "../image-operations.js";
import { pullAccessError, registryAuthHeader } from "../registry-auth.js";
import type { ImageDeletion } from "../reports.js";
import { parseFilters } from "./docker-types.js";
import { imageImport } from "./docker-verbs.js";
import { flag, sendError, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

/** Docker's progress line for one pull event; `undefined` for events Docker does not show. Pure. */
export function progressLine(e: ProgressEvent): Record<string, unknown> | undefined {
  const id = "id" in e && e.id ? e.id.replace(/^sha256:/, "").slice(0, 12) : "";
  switch (e.type) {
    case "start":
      return e.kind === "layer" ? { status: "Pulling fs layer", progressDetail: {}, id } : undefined;
    case "bytes":
      return { status: "Downloading", progressDetail: { current: e.transferred, total: e.size }, id };
    case "done":
      return { status: "Pull complete", progressDetail: {}, id };
    case "exists":
      return { status: "Already exists", progressDetail: {}, id };
    default:
      return undefined;
  }
}

/** Docker's `GET /images/{name}/json` document. */
async function imageDocument(engine: Engine, ref: string): Promise<Record<string, unknown>> {
  const { image } = await engine.images.find(ref);
  const img = await engine.images.resolve(image);
  const c = img.config;
  const size = img.manifest.layers.reduce((a, l) => a + l.size, 0);
  const cfg = c.config ?? {};
  return {
    Id: image.id,
    RepoTags: image.names.map(familiarName),
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
    GraphDriver: { Name: engine.snapshots.driver, Data: null },
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

/** Docker's delete records (`[{"Untagged":…},{"Deleted":…}]`). Pure. */
export function deleteRecords(steps: readonly ImageDeletion[]): Record<string, string>[] {
  return steps.map(
    (s): Record<string, string> => ("untagged" in s ? { Untagged: s.untagged } : { Deleted: s.deleted }),
  );
}

/**
 * Docker's JSON-lines progress body: `lines` wait until the first progress line (so an error
 * before any is a plain error reply), each line after is written at once, and only layer
 * events (those whose `start` said `layer`) are shown.
 */
function progressBody(res: ServerResponse, lines: Record<string, unknown>[]) {
  let streaming = false;
  const send = (line: Record<string, unknown>) => {
    if (!streaming) {
      streaming = true;
      res.writeHead(200, { "Content-Type": "application/json" });
      for (const l of lines.splice(0)) res.write(`${JSON.stringify(l)}\r\n`);
    }
    res.write(`${JSON.stringify(line)}\r\n`);
  };
  const layers = new Set<string>();
  const progress =
    (show: (e: ProgressEvent) => Record<string, unknown> | undefined): ProgressListener =>
    (e) => {
      if (e.type === "start" && e.kind === "layer") layers.add(e.id);
      if (!("id" in e) || !e.id || !layers.has(e.id)) return;
      const line = show(e);
      if (line) send(line);
    };
  const fail = (err: unknown) => {
    if (!streaming) return sendError(res, err);
    const message = (err as Error).message;
    res.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  };
  return { send, progress, fail };
}

async function imageList({ engine, res, query }: Call) {
  const images = engine.images;
  const all = await Promise.all((await images.local()).map((i) => images.details(i)));
  const find = async (ref: string) => images.details((await images.find(ref)).image);
  const rows = await filterImages(all, parseFilters(query.get("filters")), find);
  const created = (d: ImageDetails) => (d.created ? Math.floor(Date.parse(d.created) / 1000) : 0);
  const summary = ({ details: d, tags }: ImageListEntry) => ({
    Id: d.image.id,
    ParentId: "",
    // API 1.41 shows a dangling image as `<none>:<none>`, as Docker's daemon does.
    RepoTags: tags.length ? tags : ["<none>:<none>"],
    RepoDigests: tags.length ? [] : ["<none>@<none>"],
    Created: created(d),
    Size: d.size,
    VirtualSize: d.size,
    SharedSize: -1,
    Labels: d.labels,
    Containers: -1,
  });
  sendJson(res, 200, rows.sort((a, b) => created(b.details) - created(a.details)).map(summary));
}

async function imagePull(call: Call) {
  const { engine, req, res, query } = call;
  if (query.has("fromSrc")) return imageImport(call);
  const images = engine.images;
  const from = query.get("fromImage");
  if (!from) throw new EngineError("INVALID_ARGUMENT", "fromImage or fromSrc is required");
  const credentials = registryAuthHeader(req.headers["x-registry-auth"]);
  const tag = query.get("tag");
  const ref = tag ? (tag.startsWith("sha256:") ? `${from}@${tag}` : `${from}:${tag}`) : from;
  const parsed = parseReference(ref);
  const body = progressBody(res, [
    { status: `Pulling from ${parsed.repository}`, id: parsed.tag ?? "latest" },
  ]);
  req.resume();
  try {
    const result = await images.pull(ref, body.progress(progressLine), credentials);
    body.send({ status: `Digest: ${result.digest}` });
    body.send({ status: `Status: Downloaded newer image for ${ref}` });
    res.end();
  } catch (err) {
    body.fail(pullAccessError(err, new Reference(parsed.registry, parsed.repository).familiar()));
  }
}

async function imageInspect({ engine, req, res, params }: Call) {
  req.resume();
  sendJson(res, 200, await imageDocument(engine, params[0]!));
}

async function imageTag({ engine, req, res, params, query }: Call) {
  const images = engine.images;
  req.resume();
  const repo = query.get("repo");
  if (!repo) throw new EngineError("INVALID_ARGUMENT", "repo is required");
  await images.tag(params[0]!, `${repo}${query.get("tag") ? `:${query.get("tag")}` : ""}`);
  res.writeHead(201).end();
}

async function imagePush({ engine, req, res, params, query }: Call) {
  const images = engine.images;
  req.resume();
  const credentials = registryAuthHeader(req.headers["x-registry-auth"]);
  const tagText = query.get("tag");
  const ref = parseReference(tagText ? `${params[0]}:${tagText}` : params[0]!);
  // Resolve before answering 200, so a missing image is a plain 404.
  await images.service.resolve(ref.toString());
  const repo = new Reference(ref.registry, ref.repository).familiar();
  const body = progressBody(res, []);
  body.send({ status: `The push refers to repository [${repo}]` });
  try {
    const result = await images.push(ref.toString(), body.progress(pushProgressLine), credentials);
    const t = ref.tag ?? "latest";
    body.send({ status: `${t}: digest: ${result.digest} size: ${result.size}` });
    body.send({ progressDetail: {}, aux: { Tag: t, Digest: result.digest, Size: result.size } });
  } catch (err) {
    const message = (err as Error).message;
    body.send({ errorDetail: { message }, error: message });
  }
  res.end();
}

async function imageRemove({ engine, req, res, params, query }: Call) {
  const images = engine.images;
  req.resume();
  sendJson(res, 200, deleteRecords(await images.remove(params[0]!, flag(query, "force"))));
}

async function imagePrune({ engine, req, res, query }: Call) {
  const images = engine.images;
  req.resume();
  const r = await images.prune(parseFilters(query.get("filters")));
  sendJson(res, 200, {
    ImagesDeleted: r.deleted.length ? deleteRecords(r.deleted) : null,
    SpaceReclaimed: r.spaceReclaimed,
  });
}

/** The image routes of the Docker API. */
export const dockerImageRoutes: readonly Route[] = [
  ["GET", /^\/images\/json$/, imageList],
  ["POST", /^\/images\/create$/, imagePull],
  ["POST", /^\/images\/prune$/, imagePrune],
  ["GET", /^\/images\/(.+)\/json$/, imageInspect],
  ["POST", /^\/images\/(.+)\/tag$/, imageTag],
  ["POST", /^\/images\/(.+)\/push$/, imagePush],
  ["DELETE", /^\/images\/(.+)$/, imageRemove],
];
