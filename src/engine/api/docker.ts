/**
 * The Docker Engine API subset (advertising API 1.41) that the stock `docker` CLI needs for
 * version, info, images, pull, create, start, attach, wait, logs, ps, inspect, stop, kill,
 * restart, rm and volume create/ls/inspect/rm; versioned paths (`/v1.41/...`) and bare ones both work. Errors are
 * `{"message"}` with `Content-Type: application/json`: 404 for a missing image (so the CLI pulls
 * it), 409 for conflicts.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { arch, release } from "node:os";
import { type Duplex, PassThrough } from "node:stream";
import { PIER_VERSION } from "../../common/version.js";
import { parseReference } from "../../oci/reference.js";
import type { ProgressEvent } from "../../remote/index.js";
import type { ContainerService, WaitCondition } from "../containers/service.js";
import { resizeContainer } from "../containers/terminal.js";
import { EngineError } from "../error.js";
import { eventLog } from "../events.js";
import { attachInput, attachOutput, streamLogs } from "./attach.js";
import { dockerImageRoutes } from "./docker-images.js";
import { dockerNetworkRoutes, withNetworkInspect, withNetworkSummary } from "./docker-networks.js";
import { containerMatches, dockerSystemRoutes, pausedInspect, pausedSummary } from "./docker-system.js";
import { logOptionsFromDocker, withLogConfig } from "./docker-tty.js";
import {
  configFromDocker,
  DOCKER_API_VERSION,
  DOCKER_MIN_API_VERSION,
  dockerInspect,
  dockerSummary,
  parseFilters,
  volumeMatches,
} from "./docker-types.js";
import { ExecService } from "./exec.js";
import { flag, intParam, readJson, sendError, sendJson, statusFor, timeParam } from "./http.js";

/** Splits `/v1.41/containers/json` into the API path; the version prefix is optional. Pure. */
export function apiPath(url: string): { path: string; query: URLSearchParams } {
  const u = new URL(url, "http://docker");
  return { path: u.pathname.replace(/^\/v\d+\.\d+(?=\/)/, ""), query: u.searchParams };
}

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

/** Request handlers of the Docker socket. */
export interface DockerApi {
  request(req: IncomingMessage, res: ServerResponse): void;
  /** The 101 hijack of `attach` (HTTP `Upgrade: tcp`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Builds the Docker API over the container service. */
export function dockerApi(svc: ContainerService): DockerApi {
  const images = svc.images;
  const execs = new ExecService(svc);
  // Events are recorded from now on, so `docker events --since` can replay them.
  eventLog(svc);

  async function pullImage(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const from = q.get("fromImage");
    if (!from) throw new EngineError("INVALID_ARGUMENT", "fromImage is required (import is not supported)");
    const tag = q.get("tag");
    const ref = tag ? (tag.startsWith("sha256:") ? `${from}@${tag}` : `${from}:${tag}`) : from;
    const parsed = parseReference(ref);
    const lines: Record<string, unknown>[] = [
      { status: `Pulling from ${parsed.repository}`, id: parsed.tag ?? "latest" },
    ];
    let streaming = false;
    const send = (line: Record<string, unknown>) => {
      if (!streaming) {
        streaming = true;
        res.writeHead(200, { "Content-Type": "application/json" });
        for (const l of lines.splice(0)) res.write(`${JSON.stringify(l)}\r\n`);
      }
      res.write(`${JSON.stringify(line)}\r\n`);
    };
    req.resume();
    try {
      const layers = new Set<string>();
      const result = await images.pull(ref, (e) => {
        if (e.type === "start" && e.kind === "layer") layers.add(e.id);
        if ("id" in e && e.id && !layers.has(e.id)) return;
        const line = progressLine(e);
        if (line) send(line);
      });
      send({ status: `Digest: ${result.digest}` });
      eventLog(svc).record("image", "pull", parsed.familiar(), { name: parsed.familiar() });
      send({ status: `Status: Downloaded newer image for ${ref}` });
      res.end();
    } catch (err) {
      if (!streaming) {
        sendError(res, err);
        return;
      }
      const message = (err as Error).message;
      res.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query: q } = apiPath(req.url ?? "/");
    const method = req.method ?? "GET";
    if (path === "/_ping") {
      res.writeHead(200, {
        "Api-Version": DOCKER_API_VERSION,
        OSType: "linux",
        "Docker-Experimental": "false",
        "Cache-Control": "no-cache, no-store, must-revalidate",
        Pragma: "no-cache",
        "Content-Type": "text/plain; charset=utf-8",
      });
      res.end(method === "HEAD" ? undefined : "OK");
      return;
    }
    if (method === "GET" && path === "/version") {
      const v = {
        Platform: { Name: "pier" },
        Components: [
          {
            Name: "Engine",
            Version: PIER_VERSION,
            Details: {
              ApiVersion: DOCKER_API_VERSION,
              MinAPIVersion: DOCKER_MIN_API_VERSION,
              Os: "linux",
              Arch: goArch(),
              KernelVersion: release(),
              GoVersion: `node${process.versions.node}`,
            },
          },
        ],
        Version: PIER_VERSION,
        ApiVersion: DOCKER_API_VERSION,
        MinAPIVersion: DOCKER_MIN_API_VERSION,
        GitCommit: "",
        GoVersion: `node${process.versions.node}`,
        Os: "linux",
        Arch: goArch(),
        KernelVersion: release(),
        BuildTime: "",
      };
      sendJson(res, 200, v);
      return;
    }
    if (await dockerSystemRoutes(svc, req, res, method, path, q)) return;
    if (await dockerImageRoutes(svc, req, res, method, path, q)) return;
    if (await dockerNetworkRoutes(svc, req, res, method, path, q)) return;
    if (method === "GET" && path === "/images/json") {
      const rows = await images.list();
      const byId = new Map<string, { tags: string[]; row: (typeof rows)[number] }>();
      for (const r of rows) {
        const e = byId.get(r.digest) ?? { tags: [], row: r };
        e.tags.push(parseReference(r.name).familiar());
        byId.set(r.digest, e);
      }
      sendJson(
        res,
        200,
        [...byId.values()].map(({ tags, row }) => ({
          Id: row.digest,
          ParentId: "",
          RepoTags: tags,
          RepoDigests: [],
          Created: row.created ? Math.floor(Date.parse(row.created) / 1000) : 0,
          Size: row.size,
          VirtualSize: row.size,
          SharedSize: -1,
          Labels: {},
          Containers: -1,
        })),
      );
      return;
    }
    if (method === "POST" && path === "/images/create") return pullImage(req, res, q);
    if (method === "GET" && path === "/volumes") {
      const filters = parseFilters(q.get("filters"));
      const all = await svc.volumes.list();
      const Volumes = all.filter((v) => volumeMatches(v, svc.volumeUsers(v.Name).length, filters));
      sendJson(res, 200, { Volumes, Warnings: [] });
      return;
    }
    if (method === "POST" && path === "/volumes/create") {
      const body = (await readJson(req)) as Record<string, unknown> | null;
      const driver = body?.Driver;
      if (driver !== undefined && driver !== null && driver !== "" && driver !== "local")
        throw new EngineError(
          "INVALID_ARGUMENT",
          `volume driver ${String(driver)} is not supported (only local)`,
        );
      const opts = body?.DriverOpts;
      if (opts && typeof opts === "object" && Object.keys(opts).length)
        throw new EngineError("INVALID_ARGUMENT", "volume driver options are not supported by pier yet");
      const name = typeof body?.Name === "string" && body.Name ? body.Name : randomBytes(32).toString("hex");
      const labels = body?.Labels;
      if (
        labels !== undefined &&
        labels !== null &&
        (typeof labels !== "object" || Object.values(labels).some((v) => typeof v !== "string"))
      )
        throw new EngineError("INVALID_ARGUMENT", "Labels must map strings to strings");
      if (await svc.volumes.ensure(name, (labels ?? {}) as Record<string, string>))
        eventLog(svc).record("volume", "create", name, { driver: "local" });
      sendJson(res, 201, svc.volumes.inspect(name));
      return;
    }
    const vol = /^\/volumes\/([^/]+)$/.exec(path);
    if (vol) {
      const name = decodeURIComponent(vol[1]!);
      req.resume();
      if (method === "GET") {
        sendJson(res, 200, svc.volumes.inspect(name));
        return;
      }
      if (method === "DELETE") {
        await svc.removeVolume(name);
        eventLog(svc).record("volume", "destroy", name, { driver: "local" });
        res.writeHead(204).end();
        return;
      }
    }
    if (method === "POST" && path === "/containers/create") {
      const createBody = await readJson(req);
      const config = configFromDocker(createBody);
      const logOptions = logOptionsFromDocker(createBody);
      if (logOptions) config.logOptions = logOptions;
      if ((createBody as { StdinOnce?: unknown } | null)?.StdinOnce === true) config.stdinOnce = true;
      const name = q.get("name") || undefined;
      const rec = await svc.create(config, name);
      sendJson(res, 201, { Id: rec.id, Warnings: [] });
      return;
    }
    if (method === "GET" && path === "/containers/json") {
      const filters = parseFilters(q.get("filters"));
      // As Docker, a status filter looks at stopped containers too.
      const all = flag(q, "all") || (filters.status?.length ?? 0) > 0;
      const list = svc.list().filter((c) => all || c.status === "running");
      const limit = intParam(q, "limit");
      const rows = list
        .map((c) => pausedSummary(withNetworkSummary(dockerSummary(c), svc, c), svc.isPaused(c.id)))
        .filter((s) => containerMatches(s, filters));
      sendJson(res, 200, limit && limit > 0 ? rows.slice(0, limit) : rows);
      return;
    }
    const ex = /^\/exec\/([a-f0-9]+)\/(json|start|resize)$/.exec(path);
    if (ex) {
      const inst = execs.get(ex[1]!);
      if (method === "GET" && ex[2] === "json") {
        sendJson(res, 200, {
          ID: inst.id,
          ContainerID: inst.containerId,
          Running: inst.running,
          ExitCode: inst.exitCode,
          Pid: inst.pid,
          OpenStdin: inst.attachStdin,
          ProcessConfig: {
            entrypoint: inst.cmd[0],
            arguments: inst.cmd.slice(1),
            tty: inst.tty,
            user: inst.user ?? "",
          },
        });
        return;
      }
      if (method === "POST" && ex[2] === "resize") {
        await execs.resize(inst.id, intParam(q, "h") ?? 0, intParam(q, "w") ?? 0);
        res.writeHead(201).end();
        return;
      }
      if (method === "POST" && ex[2] === "start") {
        const body = (await readJson(req)) as { Detach?: boolean };
        if (body.Detach) {
          const sink = new PassThrough();
          sink.resume();
          void execs.start(inst.id, sink, Buffer.alloc(0)).catch(() => {});
          res.writeHead(200).end();
          return;
        }
        res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
        const body2 = new PassThrough();
        body2.pipe(res);
        await execs.start(inst.id, body2, Buffer.alloc(0));
        body2.end();
        return;
      }
    }
    const m = /^\/containers\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
    if (!m) throw new EngineError("NOT_FOUND", `page not found: ${method} ${path}`);
    const ref = decodeURIComponent(m[1]!);
    const verb = m[2] ?? "";
    if (method === "POST" && verb === "exec") {
      const inst = execs.create(ref, await readJson(req));
      sendJson(res, 201, { Id: inst.id });
      return;
    }
    req.resume();
    if (method === "DELETE" && verb === "") {
      await svc.remove(ref, flag(q, "force"), flag(q, "v"));
      res.writeHead(204).end();
      return;
    }
    if (method === "GET" && verb === "json") {
      const rec = svc.find(ref);
      const info = withNetworkInspect(
        withLogConfig(dockerInspect(rec, svc.logPath(rec.id), svc.snapshots.rootfs(rec.id)), rec.config),
        svc,
        rec,
      );
      sendJson(res, 200, pausedInspect(info, svc.isPaused(rec.id)));
      return;
    }
    if (method === "POST" && verb === "start") {
      const rec = svc.find(ref);
      if (rec.status === "running") {
        res.writeHead(304).end();
        return;
      }
      await svc.start(rec.id);
      res.writeHead(204).end();
      return;
    }
    if (method === "POST" && verb === "wait") {
      const cond = (q.get("condition") || "not-running") as WaitCondition;
      if (!["not-running", "next-exit", "removed"].includes(cond))
        throw new EngineError("INVALID_ARGUMENT", `invalid condition: ${cond}`);
      const waiting = svc.wait(ref, cond);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      const result = await waiting;
      res.end(JSON.stringify(result));
      return;
    }
    if (method === "POST" && (verb === "stop" || verb === "restart")) {
      const t = intParam(q, "t");
      if (verb === "restart") {
        await svc.restart(ref, t);
        res.writeHead(204).end();
        return;
      }
      const stopped = await svc.stop(ref, t);
      res.writeHead(stopped ? 204 : 304).end();
      return;
    }
    if (method === "POST" && verb === "kill") {
      await svc.kill(ref, q.get("signal") || "SIGKILL");
      res.writeHead(204).end();
      return;
    }
    if (method === "POST" && verb === "resize") {
      resizeContainer(svc, ref, intParam(q, "h") ?? 0, intParam(q, "w") ?? 0);
      res.writeHead(200).end();
      return;
    }
    if (method === "GET" && verb === "logs") {
      const rec = svc.find(ref);
      const tailText = q.get("tail");
      const tail = !tailText || tailText === "all" ? undefined : Number(tailText);
      if (tail !== undefined && !Number.isInteger(tail))
        throw new EngineError("INVALID_ARGUMENT", `invalid tail ${tailText}`);
      res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
      const since = timeParam(q, "since");
      const until = timeParam(q, "until");
      await streamLogs(
        svc,
        rec.id,
        res,
        {
          stdout: flag(q, "stdout"),
          stderr: flag(q, "stderr"),
          follow: flag(q, "follow"),
          ...(tail !== undefined ? { tail } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          done: () => svc.store.get(rec.id)?.status !== "running",
          wake: (notify) => svc.onEnd(rec.id, notify),
        },
        { tty: rec.config.tty === true, timestamps: flag(q, "timestamps") },
      );
      res.end();
      return;
    }
    if (method === "POST" && verb === "attach") {
      // Without `Upgrade: tcp` the stream goes in the response body (old clients).
      const rec = svc.find(ref);
      res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
      res.flushHeaders();
      await attachOutput(svc, rec.id, res, {
        tty: rec.config.tty === true,
        stdout: flag(q, "stdout"),
        stderr: flag(q, "stderr"),
      });
      res.end();
      return;
    }
    throw new EngineError("NOT_FOUND", `page not found: ${method} ${path}`);
  }

  return {
    request(req, res) {
      route(req, res).catch((err) => sendError(res, err));
    },
    upgrade(req, socket, head) {
      const { path, query: q } = apiPath(req.url ?? "/");
      const fail = (status: number, message: string) => {
        const body = JSON.stringify({ message });
        socket.end(
          `HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      };
      const ex = /^\/exec\/([a-f0-9]+)\/start$/.exec(path);
      if (ex && req.method === "POST") {
        let inst: ReturnType<typeof execs.get>;
        try {
          inst = execs.get(ex[1]!);
          if (inst.running || inst.exitCode !== null)
            throw new EngineError("INVALID_STATE", `exec instance ${inst.id} has already been started`);
        } catch (err) {
          fail(statusFor(err), (err as Error).message);
          return;
        }
        // The request's JSON body ({"Detach":false,"Tty":false}) arrives in `head`: it is not stdin.
        socket.write(
          "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        );
        socket.on("error", () => {});
        execs
          .start(inst.id, socket, head, Number(req.headers["content-length"] ?? 0))
          .catch(() => {})
          .finally(() => socket.end());
        return;
      }
      const m = /^\/containers\/([^/]+)\/attach$/.exec(path);
      if (!m || req.method !== "POST") {
        fail(404, `page not found: ${req.method} ${path}`);
        return;
      }
      let rec: ReturnType<typeof svc.find>;
      try {
        rec = svc.find(decodeURIComponent(m[1]!));
      } catch (err) {
        fail(statusFor(err), (err as Error).message);
        return;
      }
      socket.write(
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
      );
      if (socket instanceof Socket) socket.setNoDelay(true);
      if (flag(q, "stdin") && rec.config.openStdin && socket instanceof Socket)
        attachInput(svc, rec.id, socket, head);
      else socket.resume();
      socket.on("error", () => {});
      attachOutput(svc, rec.id, socket, {
        tty: rec.config.tty === true,
        stdout: flag(q, "stdout"),
        stderr: flag(q, "stderr"),
      })
        .catch(() => {})
        .finally(() => socket.end());
    },
  };
}

function goArch(): string {
  const a = arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}
