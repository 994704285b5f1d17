/**
 * `pierd`'s command line (loaded by `main.ts`): the engine daemon. Flags override the config
 * file (`--config`, default `/etc/pier/pierd.json` when it exists), which overrides the defaults
 * (`/var/lib/pier`, `/run/pier`). Logs JSON lines to stderr. SIGTERM/SIGINT stop serving; containers keep running.
 */
import { existsSync, readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { PIER_VERSION } from "../../common/version.js";
import { type DaemonConfig, startDaemon } from "./daemon.js";

const DEFAULT_CONFIG = "/etc/pier/pierd.json";

/** `--init`, `--init=true`, `--init=false` (dockerd's boolean flag forms). */
function parseBool(value: string): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new InvalidArgumentError(`want true or false, not "${value}"`);
}

const program = new Command("pierd")
  .description("pier's container engine daemon")
  .version(PIER_VERSION, "-v, --version")
  .option("--config <file>", `JSON config file (default ${DEFAULT_CONFIG} when present)`)
  .option("--root <dir>", "persistent state (default /var/lib/pier)")
  .option("--exec-root <dir>", "runtime state and sockets (default /run/pier)")
  .option("--socket <path>", "pier API socket (default <exec-root>/pier.sock)")
  .option("--docker-socket <path>", "Docker API socket (default <exec-root>/docker.sock)")
  .option("--cri-socket <path>", 'Kubernetes CRI socket, gRPC (default <exec-root>/cri.sock; "" for none)')
  .option(
    "--cri-streaming-address <host:port>",
    "listener of the CRI streaming server for exec, attach and port-forward (default 127.0.0.1:0, a random loopback port)",
  )
  .option(
    "--cri-cgroup-driver <driver>",
    "cgroupfs or systemd: how the kubelet names pod cgroups (CRI RuntimeConfig; default cgroupfs)",
  )
  .option(
    "--cni-conf-dir <dir>",
    'the CRI pod network: the first CNI config there (default /etc/cni/net.d; "" for pier\'s own bridge)',
  )
  .option("--snapshotter <driver>", "overlay or copy (default: overlay when the kernel has it)")
  .option("--insecure-registry <host...>", "registries spoken to over plain HTTP (loopback always is)")
  .option(
    "--signature-policy <file>",
    "containers-policy.json every pull must satisfy (default: skopeo's, when present)",
  )
  .option("--registries-d <dir>", "registries.d directory saying where signatures live (default: skopeo's)")
  .option(
    "--registries-conf <file>",
    "registries.conf with mirrors, blocked registries (default $PIER_REGISTRIES_CONF, $CONTAINERS_REGISTRIES_CONF or /etc/containers/registries.conf); reread on SIGHUP",
  )
  .option("--tls-listen <host:port>", "also serve the Docker API on TCP, with TLS and client certificates")
  .option("--tlscacert <file>", "CA (PEM) that client certificates must chain to")
  .option("--tlscert <file>", "server certificate (PEM)")
  .option("--tlskey <file>", "server key (PEM)")
  .option("-H, --host <addr>", "unix:///path for the Docker socket; tcp:// is refused (use --tls-listen)")
  .option("--bridge <device>", "bridge of the default network when it is first made (default pier0)")
  .option(
    "--default-subnet <cidr>",
    "subnet of the default network when it is first made (default 10.88.0.0/16 or a free one)",
  )
  .option("--cni-path <dir>", "where the CNI plugins are (default /usr/lib/cni)")
  .option(
    "--init [bool]",
    "run an init (reaping zombies, forwarding signals) in every container that does not say --init=false",
    parseBool,
  );
program.parse();
const flags = program.opts<{
  config?: string;
  root?: string;
  execRoot?: string;
  socket?: string;
  dockerSocket?: string;
  criSocket?: string;
  criStreamingAddress?: string;
  criCgroupDriver?: string;
  cniConfDir?: string;
  snapshotter?: string;
  insecureRegistry?: string[];
  signaturePolicy?: string;
  registriesD?: string;
  registriesConf?: string;
  tlsListen?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  host?: string;
  bridge?: string;
  defaultSubnet?: string;
  cniPath?: string;
  init?: boolean;
}>();

function fail(message: string): never {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: message })}\n`,
  );
  process.exit(1);
}

let file: Partial<DaemonConfig> = {};
const configPath = flags.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
if (configPath) {
  try {
    file = JSON.parse(readFileSync(configPath, "utf8")) as Partial<DaemonConfig>;
  } catch (err) {
    fail(`config ${configPath}: ${(err as Error).message}`);
  }
}
const snapshotter = flags.snapshotter ?? file.snapshotter;
if (snapshotter !== undefined && snapshotter !== "overlay" && snapshotter !== "copy")
  fail(`--snapshotter must be overlay or copy, not ${snapshotter}`);
if (flags.host && !flags.host.startsWith("unix://"))
  fail(
    `-H ${flags.host}: plain TCP is refused; use --tls-listen HOST:PORT with --tlscacert, --tlscert and --tlskey`,
  );
const tlsListen = flags.tlsListen ?? file.tls?.listen;
const tlsFiles = {
  cacert: flags.tlscacert ?? file.tls?.cacert,
  cert: flags.tlscert ?? file.tls?.cert,
  key: flags.tlskey ?? file.tls?.key,
};
if (tlsListen && (!tlsFiles.cacert || !tlsFiles.cert || !tlsFiles.key))
  fail(
    "--tls-listen needs --tlscacert, --tlscert and --tlskey: TCP is served only with TLS and client certificates",
  );
const criCgroupDriver = flags.criCgroupDriver ?? file.criCgroupDriver;
if (criCgroupDriver !== undefined && criCgroupDriver !== "cgroupfs" && criCgroupDriver !== "systemd")
  fail(`--cri-cgroup-driver must be cgroupfs or systemd, not ${criCgroupDriver}`);
const dockerSocketFlag = flags.host ? flags.host.slice("unix://".length) : flags.dockerSocket;
const config: DaemonConfig = {
  root: flags.root ?? file.root ?? "/var/lib/pier",
  execRoot: flags.execRoot ?? file.execRoot ?? "/run/pier",
  ...((flags.socket ?? file.socket) ? { socket: (flags.socket ?? file.socket) as string } : {}),
  ...((flags.criSocket ?? file.criSocket) !== undefined
    ? { criSocket: (flags.criSocket ?? file.criSocket) as string }
    : {}),
  ...((flags.criStreamingAddress ?? file.criStreamingAddress)
    ? { criStreamingAddress: (flags.criStreamingAddress ?? file.criStreamingAddress) as string }
    : {}),
  ...(criCgroupDriver ? { criCgroupDriver } : {}),
  ...((flags.cniConfDir ?? file.cniConfDir) !== undefined
    ? { cniConfDir: (flags.cniConfDir ?? file.cniConfDir) as string }
    : {}),
  ...((dockerSocketFlag ?? file.dockerSocket)
    ? { dockerSocket: (dockerSocketFlag ?? file.dockerSocket) as string }
    : {}),
  ...(tlsListen
    ? {
        tls: {
          listen: tlsListen,
          cacert: tlsFiles.cacert as string,
          cert: tlsFiles.cert as string,
          key: tlsFiles.key as string,
        },
      }
    : {}),
  ...(snapshotter ? { snapshotter } : {}),
  insecureRegistries: flags.insecureRegistry ?? file.insecureRegistries ?? [],
  ...((flags.signaturePolicy ?? file.signaturePolicy)
    ? { signaturePolicy: (flags.signaturePolicy ?? file.signaturePolicy) as string }
    : {}),
  ...((flags.registriesD ?? file.registriesDir)
    ? { registriesDir: (flags.registriesD ?? file.registriesDir) as string }
    : {}),
  ...((flags.registriesConf ?? file.registriesConf)
    ? { registriesConf: (flags.registriesConf ?? file.registriesConf) as string }
    : {}),
};
const network = {
  ...file.network,
  ...(flags.bridge ? { defaultBridge: flags.bridge } : {}),
  ...(flags.defaultSubnet ? { defaultSubnet: flags.defaultSubnet } : {}),
  ...(flags.cniPath ? { cniPath: flags.cniPath } : {}),
};
if (Object.keys(network).length) config.network = network;
const init = flags.init ?? file.init;
if (init !== undefined && typeof init !== "boolean") fail(`config ${configPath}: init must be true or false`);
if (init) config.init = true;

try {
  const daemon = await startDaemon(config);
  const stop = () => {
    void daemon.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // As dockerd: SIGHUP rereads the configuration (here registries.conf); containers stay up.
  process.on("SIGHUP", () => {
    try {
      daemon.reloadRegistries();
    } catch (err) {
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: `registries configuration kept: ${(err as Error).message}` })}\n`,
      );
    }
  });
} catch (err) {
  fail((err as Error).message);
}
