/**
 * Helpers for the engine's own tests (not part of the library API): a busybox image built
 * locally and pushed to a pier registry on loopback, a `pierd` child process in temp
 * directories, and the stock `docker` CLI pointed at it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { NetworkService } from "../engine/network/service.js";
import { createImage } from "../image/build.js";
import { ImageStore } from "../image/image-store.js";
import { push } from "../remote/pull.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "./busybox.js";
import { startTestRegistry, type TestRegistry } from "./registry.js";
import { disposeTree } from "./runtime-cgroups.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled `pierd` entry point. */
export const PIERD_MAIN = join(here, "..", "engine", "daemon", "main.js");
/** The compiled `pier` CLI entry point (the plain Node.js command line). */
export const PIER_MAIN = join(here, "..", "cli", "pier.js");
/** The native front end of the `pier` CLI (`native/front-end.c`): what users run. */
export const PIER_FRONT_END = join(here, "..", "..", "native", "build", "pier");

/**
 * The command and arguments that run `pier ARGS`: through the native front end and the CLI
 * service, or with PIER_TEST_CLI=direct as one Node.js process.
 */
export function pierCommand(args: readonly string[]): [string, string[]] {
  return process.env.PIER_TEST_CLI === "direct"
    ? [process.execPath, [PIER_MAIN, ...args]]
    : [PIER_FRONT_END, [...args]];
}
/** The stock docker CLI: the first `docker` on PATH, as a shell finds it; `undefined` when none. */
export function findDocker(path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const candidate = join(dir, "docker");
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}

/** A registry holding `busybox:latest` (default command `sh`). */
export interface BusyboxRegistry {
  registry: TestRegistry;
  /** `127.0.0.1:PORT/busybox:latest`. */
  image: string;
  stop(): Promise<void>;
}

/** Builds a busybox image with pier and pushes it to a fresh pier registry on 127.0.0.1. */
export async function busyboxRegistry(): Promise<BusyboxRegistry> {
  const registry = await startTestRegistry();
  const work = await makeTempDir("pier-engine-img-");
  try {
    const rootfs = await writeBusyboxRootfs(join(work, "rootfs"));
    const store = await ImageStore.open(join(work, "store"));
    await createImage(store, rootfs, "busybox:latest", { cmd: ["sh"] });
    const host = new URL(registry.url).host;
    const image = `${host}/busybox:latest`;
    await push(image, {
      storeRoot: join(work, "store"),
      localName: "docker.io/library/busybox:latest",
      insecure: true,
    });
    return { registry, image, stop: () => registry.stop() };
  } catch (err) {
    await registry.stop();
    throw err;
  } finally {
    await removeTempDir(work);
  }
}

/** A `pierd` child process with its own temp `--root` and `--exec-root`. */
export interface TestDaemon {
  dir: string;
  root: string;
  execRoot: string;
  socket: string;
  dockerSocket: string;
  proc: ChildProcess;
  /** Everything the daemon wrote to stderr. */
  stderr(): string;
  /** Starts it again with the same directories (after a kill). */
  restart(): Promise<void>;
  /** SIGKILL, as a crash. */
  crash(): Promise<void>;
  /** Stops it, kills every container it left, unmounts and removes its directories. */
  stop(): Promise<void>;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `pierd` in fresh temp directories and waits for both sockets; `opts.execRoot` puts its
 * run-time state elsewhere (a tmpfs, as `/run` is on most hosts); `opts.netns` runs it in that
 * named network namespace (`ip netns add`), as another host: its bridge, rules and containers'
 * networks live and go with that namespace, which the caller deletes after stop().
 */
export async function startTestDaemon(
  extra: string[] = [],
  opts: { execRoot?: string; netns?: string } = {},
): Promise<TestDaemon> {
  const dir = await makeTempDir("pier-engine-");
  const root = join(dir, "root");
  const execRoot = opts.execRoot ?? join(dir, "run");
  // Its own default bridge (not the host's pier0, which other daemons may share), removed by stop().
  const bridge = `pt${randomBytes(4).toString("hex")}`;
  const flags = extra.includes("--bridge") ? extra : [...extra, "--bridge", bridge];
  let log = "";
  const d: TestDaemon = {
    dir,
    root,
    execRoot,
    socket: join(execRoot, "pier.sock"),
    dockerSocket: join(execRoot, "docker.sock"),
    proc: undefined as unknown as ChildProcess,
    stderr: () => log,
    async restart() {
      log = "";
      const argv = [PIERD_MAIN, "--root", root, "--exec-root", execRoot, ...flags];
      // nsenter switches the network namespace only (`ip netns exec` would also make a mount
      // namespace, hiding the daemon's mounts from stop()).
      const proc = opts.netns
        ? spawn("nsenter", [`--net=/run/netns/${opts.netns}`, "--", process.execPath, ...argv], {
            stdio: ["ignore", "ignore", "pipe"],
          })
        : spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
      proc.stderr?.on("data", (c: Buffer) => {
        log += c.toString();
      });
      d.proc = proc;
      let exited = false;
      proc.on("exit", () => {
        exited = true;
      });
      await waitFor(() => exited || log.includes("pierd listening"), 30000, "pierd to listen");
      if (exited) throw new Error(`pierd exited at start: ${log}`);
    },
    async crash() {
      const gone = new Promise((r) => d.proc.once("exit", r));
      d.proc.kill("SIGKILL");
      await gone;
    },
    async stop() {
      if (d.proc.exitCode === null && d.proc.signalCode === null) {
        const gone = new Promise((r) => d.proc.once("exit", r));
        d.proc.kill("SIGTERM");
        await gone;
      }
      // Containers outlive pierd by design: a test kills what it left, then unmounts.
      const { readFileSync } = await import("node:fs");
      try {
        for (const id of readdirSync(join(execRoot, "containers"))) {
          try {
            const pid = Number(readFileSync(join(execRoot, "containers", id, "pid"), "utf8"));
            if (pid > 0) process.kill(pid, "SIGKILL");
          } catch {}
        }
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
      // Killed, they were never deleted through the runtime, which removes their cgroups (the
      // runtime's default `/<id>` in every hierarchy): the test removes them, with whatever still
      // runs there (exec'd processes).
      const ids = new Set(["containers", "runtime"].flatMap((sub) => entries(join(execRoot, sub))));
      for (const id of ids) if (/^[0-9A-Za-z][\w.-]*$/.test(id)) await disposeTree(`/${id}`).catch(() => {});
      const mounts = readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[4] ?? "")
        .filter((m) => m.startsWith(dir));
      for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
      // Their network attachments too: a published port's DNAT rule left behind would take
      // that host port from whatever later listens on it (a test registry's ephemeral port).
      if (!opts.netns) {
        const networks = new NetworkService({ root, execRoot });
        for (const id of ids) await networks.teardown(id).catch(() => {});
        // The daemon keeps a bridge that had containers when it stopped: this one is the test's own.
        await networks.shutdown(true).catch(() => {});
      }
      await removeTempDir(dir);
    },
  };
  await d.restart();
  return d;
}

/** The names in directory `dir`, none when it does not exist. */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Throws with an actionable message unless the docker CLI is installed. */
export function requireDocker(): string {
  const found = findDocker();
  if (!found)
    throw new Error(
      "no docker CLI on PATH: run scripts/install.sh (it installs Debian's docker.io) or put a docker client on PATH",
    );
  return found;
}

/** What a finished command gave. */
export interface CommandResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command asynchronously (the registry of a test lives in the test's own process, so a
 * synchronous spawn would block it).
 */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeout ?? 60000);
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs the docker CLI against the daemon's Docker socket. */
export function docker(
  d: TestDaemon,
  args: string[],
  opts: { input?: string; timeout?: number; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  return runCommand(requireDocker(), args, { ...opts, env: { ...dockerEnv(d), ...opts.env } });
}

/** This process's environment with the docker CLI pointed at the daemon's Docker socket (and a config of its own). */
export function dockerEnv(d: TestDaemon): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DOCKER_HOST: `unix://${d.dockerSocket}`,
    DOCKER_CONFIG: join(d.dir, "docker-config"),
  };
}

/** Runs the `pier` CLI ({@link pierCommand}) against the daemon's own socket. */
export function pier(
  d: TestDaemon,
  args: string[],
  opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const [cmd, argv] = pierCommand(args);
  return runCommand(cmd, argv, {
    ...opts,
    env: { ...process.env, PIER_HOST: d.socket, ...opts.env },
  });
}

/** What {@link useTestDaemon} sets up. */
export interface DaemonFixture {
  reg: BusyboxRegistry;
  d: TestDaemon;
}

/**
 * Registers the `before`/`after` hooks every docker-CLI test file needs: the docker CLI checked,
 * a busybox image served from a pier registry, a test pierd, and with `pull` the image already
 * pulled into it; `ready` receives them once up (the returned fixture holds them too, from the
 * first test on). Both are stopped after the file's tests, after `beforeStop` (a file's own
 * cleanup that needs the daemon).
 */
export function useTestDaemon(opts: {
  pull?: boolean;
  extra?: string[];
  ready?: (fx: DaemonFixture) => void;
  beforeStop?: (fx: DaemonFixture) => Promise<void>;
}): DaemonFixture {
  const fx = {} as DaemonFixture;
  before(async () => {
    requireDocker();
    fx.reg = await busyboxRegistry();
    fx.d = await startTestDaemon(opts.extra);
    if (opts.pull) {
      const pull = await docker(fx.d, ["pull", fx.reg.image]);
      if (pull.status !== 0) throw new Error(`docker pull ${fx.reg.image}: ${pull.stderr}`);
    }
    opts.ready?.(fx);
  });
  after(async () => {
    try {
      if (fx.d && opts.beforeStop) await opts.beforeStop(fx);
    } finally {
      await fx.d?.stop();
      await fx.reg?.stop();
    }
  });
  return fx;
}

/** The stdout (trimmed) of a command that must succeed; a failure shows its stdout and stderr. */
export async function ok(r: Promise<CommandResult>): Promise<string> {
  const res = await r;
  if (res.status !== 0)
    throw new Error(`exit status ${res.status} (expected 0)\n${res.stdout}\n${res.stderr}`);
  return res.stdout.trim();
}

/**
 * The `key: value` lines of a command that must succeed (as /proc/self/status or a test
 * script prints them), split at the first colon, values trimmed; other lines are skipped.
 */
export function outputFields(r: CommandResult): Record<string, string> {
  if (r.status !== 0) throw new Error(`exit status ${r.status} (expected 0)\n${r.stdout}\n${r.stderr}`);
  return Object.fromEntries(
    r.stdout
      .split("\n")
      .filter((l) => l.includes(":"))
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
}

/** Polls `read` until `want` holds of its value (deadline 30 s); returns the value. */
export async function until<T>(read: () => Promise<T>, want: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30000;
  for (;;) {
    const v = await read();
    if (want(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
