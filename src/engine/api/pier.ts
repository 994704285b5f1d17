/**
 * pier's own REST API (`/v1/...`, described in `docs/engine-api.yaml`), which the `pier` CLI
 * uses. Bodies are the engine's own types; errors are `{"message","code"}` with the status of
 * {@link statusFor}; streams (logs, pull progress) are JSON lines.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PIER_VERSION } from "../../common/version.js";
import { parseContainerConfig } from "../containers/config.js";
import type { ContainerService, WaitCondition } from "../containers/service.js";
import { EngineError } from "../error.js";
import { readLogs } from "../logs.js";
import { apiPath } from "./docker.js";
import { ExecService } from "./exec.js";
import { flag, intParam, readJson, sendError, sendJson, timeParam } from "./http.js";
import { pierNetworkRoutes, withNetworkView } from "./pier-networks.js";
import { pierOpsRoutes } from "./pier-ops.js";
import { pierTtyRoutes } from "./pier-tty.js";

/** Version of pier's own API (the path prefix). */
export const PIER_API_VERSION = "v1";

/** Handles one request of pier's own API. */
export function pierApi(svc: ContainerService): (req: IncomingMessage, res: ServerResponse) => void {
  const execs = new ExecService(svc);
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path: full, query: q } = apiPath(req.url ?? "/");
    const method = req.method ?? "GET";
    if (!full.startsWith("/v1/"))
      throw new EngineError("NOT_FOUND", `no such API path ${full} (this is pier API v1)`);
    const path = full.slice(3);
    if (method === "GET" && path === "/version") {
      sendJson(res, 200, { version: PIER_VERSION, api: PIER_API_VERSION, snapshotter: svc.snapshots.driver });
      return;
    }
    if (method === "GET" && path === "/images") {
      sendJson(res, 200, await svc.images.list());
      return;
    }
    if (method === "POST" && path === "/images/pull") {
      const body = (await readJson(req)) as { ref?: unknown };
      if (typeof body.ref !== "string" || !body.ref)
        throw new EngineError("INVALID_ARGUMENT", "ref is required");
      const ref = body.ref;
      let started = false;
      const line = (v: unknown) => {
        if (!started) {
          started = true;
          res.writeHead(200, { "Content-Type": "application/x-ndjson" });
        }
        res.write(`${JSON.stringify(v)}\n`);
      };
      try {
        const result = await svc.images.pull(ref, (e) => line({ progress: e }));
        line({ done: { digest: result.digest } });
        res.end();
      } catch (err) {
        if (!started) throw err;
        res.end(`${JSON.stringify({ error: { message: (err as Error).message } })}\n`);
      }
      return;
    }
    if (method === "POST" && path === "/containers") {
      const body = await readJson(req);
      const config = parseContainerConfig(body);
      const name = (body as { name?: unknown }).name;
      if (name !== undefined && typeof name !== "string")
        throw new EngineError("INVALID_ARGUMENT", "name must be a string");
      sendJson(res, 201, await svc.create(config, name || undefined));
      return;
    }
    if (method === "GET" && path === "/containers") {
      const all = flag(q, "all");
      sendJson(
        res,
        200,
        svc
          .list()
          .filter((c) => all || c.status === "running")
          .map((c) => withNetworkView(svc, c)),
      );
      return;
    }
    if (await pierTtyRoutes(svc, execs, req, res, path, q)) return;
    if (await pierOpsRoutes(svc, req, res, method, path, q)) return;
    if (await pierNetworkRoutes(svc, req, res, method, path)) return;
    const m = /^\/containers\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
    if (!m) throw new EngineError("NOT_FOUND", `no such API path ${full}`);
    const ref = decodeURIComponent(m[1]!);
    const verb = m[2] ?? "";
    req.resume();
    if (method === "GET" && verb === "") {
      sendJson(res, 200, withNetworkView(svc, svc.find(ref)));
      return;
    }
    if (method === "DELETE" && verb === "") {
      await svc.remove(ref, flag(q, "force"));
      res.writeHead(204).end();
      return;
    }
    if (method === "POST" && verb === "start") {
      sendJson(res, 200, await svc.start(ref));
      return;
    }
    if (method === "POST" && verb === "stop") {
      await svc.stop(ref, intParam(q, "timeout"));
      sendJson(res, 200, svc.find(ref));
      return;
    }
    if (method === "POST" && verb === "restart") {
      sendJson(res, 200, await svc.restart(ref, intParam(q, "timeout")));
      return;
    }
    if (method === "POST" && verb === "kill") {
      await svc.kill(ref, q.get("signal") || "SIGKILL");
      res.writeHead(204).end();
      return;
    }
    if (method === "POST" && verb === "wait") {
      const cond = (q.get("condition") || "not-running") as WaitCondition;
      const waiting = svc.wait(ref, cond);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      const r = await waiting;
      res.end(JSON.stringify({ exitCode: r.StatusCode, error: r.Error?.Message ?? null }));
      return;
    }
    if (method === "GET" && verb === "logs") {
      const rec = svc.find(ref);
      const tail = intParam(q, "tail");
      const since = timeParam(q, "since");
      const until = timeParam(q, "until");
      res.writeHead(200, { "Content-Type": "application/x-ndjson" });
      const ac = new AbortController();
      res.once("close", () => ac.abort());
      for await (const e of readLogs(svc.logPath(rec.id), {
        follow: flag(q, "follow"),
        ...(tail !== undefined ? { tail } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        done: () => svc.store.get(rec.id)?.status !== "running",
        wake: (notify) => svc.onEnd(rec.id, notify),
        signal: ac.signal,
      })) {
        if (!res.write(`${JSON.stringify(e)}\n`)) await new Promise((r) => res.once("drain", r));
      }
      res.end();
      return;
    }
    throw new EngineError("NOT_FOUND", `no such API path ${method} ${full}`);
  }
  return (req, res) => {
    route(req, res).catch((err) => sendError(res, err));
  };
}
