/**
 * The engine daemon as a library: opens the services under `root`/`execRoot`, re-adopts running
 * containers, and serves pier's API, the Docker API and the Kubernetes CRI (gRPC) on three unix
 * sockets (mode 0660).
 * `close()` stops serving and removes the bridges no container is on; containers keep running
 * under their monitors.
 */
import { chmodSync, chownSync, readFileSync } from "node:fs";
import { mkdir, realpath, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { releaseWhenQuiet } from "../../common/release-memory.js";
import { defaultSources, loadRegistriesConfig } from "../../remote/index.js";
import { dockerApi } from "../api/docker.js";
import { pierApi } from "../api/pier.js";
import { ContainerService } from "../containers/service.js";
import type { CgroupDriver } from "../cri/sandbox.js";
import { startCriServer } from "../cri/server.js";
import { Engine } from "../engine.js";
import { ImageService } from "../images.js";
import { NetworkService } from "../network/service.js";
import { type SnapshotDriver, Snapshotter } from "../snapshots/snapshotter.js";
import { parseTcpAddress } from "../tcp-address.js";
import { removeScratch } from "../uploads.js";
import { VolumeService } from "../volumes.js";

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
  /** Kubernetes CRI socket (gRPC, default `<execRoot>/cri.sock`); "" serves no CRI. */
  criSocket?: string;
  /** The cgroup driver the CRI reports to the kubelet (`cgroupfs`, the default, or `systemd`). */
  criCgroupDriver?: CgroupDriver;
  /** `HOST:PORT` of the CRI streaming server (default `127.0.0.1:0`: loopback, a random port). */
  criStreamingAddress?: string;
  /** The CRI pod network's CNI config directory (default /etc/cni/net.d; "": pier's bridge). */
  cniConfDir?: string;
  snapshotter?: SnapshotDriver;
  insecureRegistries?: string[];
  /** containers-policy.json(5) every pull must satisfy (default skopeo's file when it exists). */
  signaturePolicy?: string;
  /** registries.d directory: where signatures live (default skopeo's). */
  registriesDir?: string;
  /**
   * registries.conf to read instead of the default search (`$PIER_REGISTRIES_CONF`,
   * `$CONTAINERS_REGISTRIES_CONF`, `~/.config/containers`, `/etc/containers`); drop-in
   * directories are read either way. Read at start and again on {@link RunningDaemon.reloadRegistries}.
   */
  registriesConf?: string;
  /** The default bridge network's subnet and device when first created, and the CNI plugins. */
  network?: { defaultSubnet?: string; defaultBridge?: string; cniPath?: string };
  /**
   * A TCP listener for the Docker API and pier's (`/v1/`), always TLS with client certificates (plain TCP is
   * refused): `listen` is `HOST:PORT`, the others PEM file paths.
   */
  tls?: { listen: string; cacert: string; cert: string; key: string };
  /** One JSON object per line (default: stderr). */
  log?: (line: string) => void;
  /** dockerd's `--init`: an init in every container that does not say otherwise (`--init=false`). */
  init?: boolean;
}

/** The gid of group `name` from /etc/group, or undefined. */
function groupId(name: string): number | undefined {
  try {
    const line = readFileSync("/etc/group", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${name}:`));
    const gid = line ? Number(line.split(":")[2]) : Number.NaN;
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

/** A serving daemon. */
export interface RunningDaemon {
  /** Every operation, as the APIs call them. */
  engine: Engine;
  containers: ContainerService;
  socket: string;
  dockerSocket: string;
  /** The CRI socket, unless the CRI is off. */
  criSocket?: string;
  /** `http://HOST:PORT` of the CRI streaming server, unless the CRI is off. */
  criStreamingUrl?: string;
  /**
   * Reads the registries configuration again (pierd's SIGHUP); on an error the old one stays and
   * the error is thrown. Containers and pulls under way are untouched.
   */
  reloadRegistries(): void;
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
  // Members of `pier` may use the API, as `docker` members may use dockerd's socket.
  const gid = groupId("pier");
  if (gid !== undefined) chownSync(path, 0, gid);
}

/** Opens the services, restores containers, and listens. */
export async function startDaemon(config: DaemonConfig): Promise<RunningDaemon> {
  const out = config.log ?? ((l: string) => process.stderr.write(l));
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    out(`${JSON.stringify({ time: new Date().toISOString(), level: "info", msg, ...fields })}\n`);
  await mkdir(config.root, { recursive: true, mode: 0o711 });
  // The real path, as Docker takes its root: the runtime refuses a rootfs reached through a
  // symlink (as runc does), and every container's rootfs lies under this directory.
  config = { ...config, root: await realpath(config.root) };
  await mkdir(config.execRoot, { recursive: true, mode: 0o711 });
  const registriesSources = () => {
    const sources = defaultSources();
    if (config.registriesConf) sources.file = config.registriesConf;
    return sources;
  };
  const images = await ImageService.open(config.root, {
    ...(config.insecureRegistries ? { insecureRegistries: config.insecureRegistries } : {}),
    ...(config.signaturePolicy ? { signaturePolicy: config.signaturePolicy } : {}),
    ...(config.registriesDir ? { registriesDir: config.registriesDir } : {}),
    registries: loadRegistriesConfig(registriesSources()),
    onWarning: (message) => log("registry mirror failed", { warning: message }),
  });
  const snapshots = new Snapshotter(config.root, config.snapshotter);
  // Half-applied layers of a pierd killed mid-unpack (never committed, so nothing refers to them).
  const leftovers = await snapshots.cleanup();
  if (leftovers.length) log("removed half-applied layer snapshots", { count: leftovers.length });
  // Uploads (cp, import, load) a pierd killed mid-request left spooled.
  const spooled = await removeScratch(config.root);
  if (spooled.length) log("removed leftover uploads", { count: spooled.length });
  const networks = new NetworkService({
    root: config.root,
    execRoot: config.execRoot,
    log,
    ...(config.network?.defaultSubnet ? { defaultSubnet: config.network.defaultSubnet } : {}),
    ...(config.network?.defaultBridge ? { defaultBridge: config.network.defaultBridge } : {}),
    ...(config.network?.cniPath ? { cniPath: config.network.cniPath } : {}),
  });
  await networks.prepareDefault();
  const volumes = new VolumeService(config.root);
  const containers = new ContainerService({
    root: config.root,
    execRoot: config.execRoot,
    images,
    snapshots,
    log,
    volumes,
    networks,
    defaultInit: config.init === true,
  });
  // Events are recorded from here on, so `docker events --since` replays what the restore did.
  const engine = new Engine({ containers, images, volumes, networks, snapshots });
  await containers.restore();
  const socket = config.socket ?? join(config.execRoot, "pier.sock");
  const dockerSocket = config.dockerSocket ?? join(config.execRoot, "docker.sock");
  const pier = pierApi(engine);
  const pierServer = createServer(pier);
  const docker = dockerApi(engine);
  const dockerServer = createServer(docker.request);
  dockerServer.on("upgrade", docker.upgrade);
  for (const s of [pierServer, dockerServer]) {
    s.keepAliveTimeout = 5000;
    s.requestTimeout = 0;
    // What a burst of requests left (dead Buffers, malloc fragments) goes back once it is over.
    s.on("request", releaseWhenQuiet);
  }
  await listenUnix(pierServer, socket);
  await listenUnix(dockerServer, dockerSocket);
  // Starting (loading the modules, restoring containers) leaves garbage too.
  releaseWhenQuiet();
  const servers = [pierServer, dockerServer];
  const criSocket =
    config.criSocket === "" ? undefined : (config.criSocket ?? join(config.execRoot, "cri.sock"));
  const gid = groupId("pier");
  const cri = criSocket
    ? await startCriServer(engine, criSocket, {
        ...(gid !== undefined ? { gid } : {}),
        ...(config.network?.cniPath ? { cniPath: config.network.cniPath } : {}),
        ...(config.criCgroupDriver ? { cgroupDriver: config.criCgroupDriver } : {}),
        ...(config.criStreamingAddress ? { streamingAddress: config.criStreamingAddress } : {}),
        ...(config.cniConfDir !== undefined ? { cniConfDir: config.cniConfDir } : {}),
        log,
      })
    : undefined;
  let tcpAddress: string | undefined;
  if (config.tls) {
    // node:https (TLS) only for a daemon told to listen on TCP.
    const { createServer: createTlsServer } = await import("node:https");
    const { host, port } = parseTcpAddress(config.tls.listen);
    const tlsServer = createTlsServer(
      {
        ca: readFileSync(config.tls.cacert),
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
      },
      // pier's own API (`/v1/…`, which no Docker API path is) too: a remote pierd is driven,
      // and migrated to, with the same client certificates.
      (req, res) => ((req.url ?? "").startsWith("/v1/") ? pier(req, res) : docker.request(req, res)),
    );
    tlsServer.on("upgrade", docker.upgrade);
    tlsServer.keepAliveTimeout = 5000;
    tlsServer.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      tlsServer.once("error", reject);
      tlsServer.listen(port, host, () => {
        tlsServer.off("error", reject);
        resolve();
      });
    });
    const a = tlsServer.address();
    tcpAddress =
      typeof a === "object" && a
        ? `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`
        : undefined;
    servers.push(tlsServer);
  }
  log("pierd listening", {
    socket,
    dockerSocket,
    ...(criSocket ? { criSocket } : {}),
    ...(cri ? { criStreaming: cri.streamingUrl } : {}),
    ...(tcpAddress ? { tlsListen: tcpAddress } : {}),
    snapshotter: snapshots.driver,
  });
  return {
    engine,
    containers,
    socket,
    dockerSocket,
    ...(criSocket ? { criSocket } : {}),
    ...(cri ? { criStreamingUrl: cri.streamingUrl } : {}),
    reloadRegistries() {
      const next = loadRegistriesConfig(registriesSources());
      images.setRegistries(next);
      log("registries configuration reloaded", { files: next.files });
    },
    async close() {
      engine.health.close();
      const closing = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const s of servers) s.closeAllConnections();
      await Promise.all([...closing, cri?.close()]);
      // A bridge no container is on goes with its NAT rule (the next start makes it again).
      await networks.shutdown().catch((e: Error) => log("network shutdown", { error: e.message }));
      containers.close();
      log("pierd stopped");
    },
  };
}
