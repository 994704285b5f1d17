/**
 * The Docker API's system routes: `/_ping`, `/version`, `/info`, `/system/df`, `/events` and
 * `/build/prune` (the builder's cache: `all`, `keep-storage`, `filters`).
 */
import { arch, release } from "node:os";
import { PIER_VERSION } from "../../common/version.js";
import { parseFilters } from "../filters.js";
import { buildPruneOptions } from "./build-prune-options.js";
import { DOCKER_API_VERSION, DOCKER_MIN_API_VERSION } from "./docker-types.js";
import { dfDocument, infoDocument } from "./documents.js";
import { sendJson } from "./http.js";
import type { Call, Route } from "./router.js";
import { systemEvents } from "./shared-handlers.js";

function goArch(): string {
  const a = arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

function ping({ method, res }: Call): void {
  res.writeHead(200, {
    "Api-Version": DOCKER_API_VERSION,
    OSType: "linux",
    // The docker CLI offers `checkpoint` (an experimental command) only to experimental daemons.
    "Docker-Experimental": "true",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    Pragma: "no-cache",
    "Content-Type": "text/plain; charset=utf-8",
  });
  res.end(method === "HEAD" ? undefined : "OK");
}

function version({ res }: Call): void {
  const details = {
    Os: "linux",
    Arch: goArch(),
    KernelVersion: release(),
    GoVersion: `node${process.versions.node}`,
  };
  sendJson(res, 200, {
    Platform: { Name: "pier" },
    Components: [
      {
        Name: "Engine",
        Version: PIER_VERSION,
        Details: { ApiVersion: DOCKER_API_VERSION, MinAPIVersion: DOCKER_MIN_API_VERSION, ...details },
      },
    ],
    Version: PIER_VERSION,
    ApiVersion: DOCKER_API_VERSION,
    MinAPIVersion: DOCKER_MIN_API_VERSION,
    GitCommit: "",
    ...details,
    BuildTime: "",
  });
}

/** `docker builder prune`: the builder's cache, as the daemon's BuildKit prunes its own. */
async function buildPrune({ engine, req, res, query }: Call): Promise<void> {
  req.resume();
  const r = await engine.system.pruneBuildCache(parseFilters(query.get("filters")), buildPruneOptions(query));
  sendJson(res, 200, {
    CachesDeleted: r.deleted.length ? r.deleted : null,
    SpaceReclaimed: r.spaceReclaimed,
  });
}

const systemInfo = async ({ engine, res }: Call) =>
  sendJson(res, 200, infoDocument(await engine.system.info()));

const systemDf = async ({ engine, res }: Call) => sendJson(res, 200, dfDocument(await engine.system.df()));

/** The system routes of the Docker API. */
export const dockerSystemRoutes: readonly Route[] = [
  ["GET", /^\/_ping$/, ping],
  ["HEAD", /^\/_ping$/, ping],
  ["GET", /^\/version$/, version],
  ["GET", /^\/info$/, systemInfo],
  ["GET", /^\/system\/df$/, systemDf],
  ["GET", /^\/events$/, systemEvents],
  ["POST", /^\/build\/prune$/, buildPrune],
];
