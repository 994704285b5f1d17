/**
 * The engine daemon as a library: opens the services under `root`/`execRoot`, re-adopts running
 * containers, and serves pier's API and the Docker API on two unix sockets (mode 0660).
 * `close()` stops serving; containers keep running under their monitors.
 */
import { chmodSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { dockerApi } from "../api/docker.js";
import { pierApi } from "../api/pier.js";
import { ContainerService } from "../containers/service.js";
import { ImageService } from "../images.js";
import { type SnapshotDriver, Snapshotter } from "../snapshots/snapshotter.js";

/** Settings of {@link startDaemon} (flags and config file of `pierd`). */
export interface DaemonConfig {
  /** Persistent state (default /var/lib/pier). */
  root: string;
  /** Runtime state and sockets (default /run/pier). */
  execRoot: string;
  /** pier API socket (default `<execRoot>/pier.sock`). */
  socket?: string;
  /** Docker API socket (default `<execRoot>/docker.sock`). */
  dockerSocket?: string;
  snapshotter?: SnapshotDriver;
  insecureRegistries?: string[];
  /** One JSON object per line (default: stderr). */
  log?: (line: string) => void;
}

/** A serving daemon. */
export interface RunningDaemon {
  containers: ContainerService;
  socket: string;
  dockerSocket: string;
  close(): Promise<void>;
}

async function listenUnix(server: Server, path: string): Promise<void> {
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
}

/** Opens the services, restores containers, and listens. */
export async function startDaemon(config: DaemonConfig): Promise<RunningDaemon> {
  const out = config.log ?? ((l: string) => process.stderr.write(l));
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    out(`${JSON.stringify({ time: new Date().toISOString(), level: "info", msg, ...fields })}\n`);
  await mkdir(config.root, { recursive: true, mode: 0o711 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o711 });
  const images = await ImageService.open(config.root, {
    ...(config.insecureRegistries ? { insecureRegistries: config.insecureRegistries } : {}),
  });
  const snapshots = new Snapshotter(config.root, config.snapshotter);
  const containers = new ContainerService({
    root: config.root,
    execRoot: config.execRoot,
    images,
    snapshots,
    log,
  });
  await containers.restore();
  const socket = config.socket ?? join(config.execRoot, "pier.sock");
  const dockerSocket = config.dockerSocket ?? join(config.execRoot, "docker.sock");
  const pierServer = createServer(pierApi(containers));
  const docker = dockerApi(containers);
  const dockerServer = createServer(docker.request);
  dockerServer.on("upgrade", docker.upgrade);
  for (const s of [pierServer, dockerServer]) {
    s.keepAliveTimeout = 5000;
    s.requestTimeout = 0;
  }
  await listenUnix(pierServer, socket);
  await listenUnix(dockerServer, dockerSocket);
  log("pierd listening", { socket, dockerSocket, snapshotter: snapshots.driver });
  return {
    containers,
    socket,
    dockerSocket,
    async close() {
      const closing = [pierServer, dockerServer].map((s) => new Promise<void>((r) => s.close(() => r())));
      pierServer.closeAllConnections();
      dockerServer.closeAllConnections();
      await Promise.all(closing);
      containers.close();
      log("pierd stopped");
    },
  };
}
