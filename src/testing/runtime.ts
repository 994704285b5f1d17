/**
 * Test support for the runtime's tests (not part of the library API): busybox bundles, the
 * `pier-runtime` command line as a child process, and a console-socket receiver.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Spec } from "../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import { writeBusyboxRootfs } from "./busybox.js";

/** Path of the compiled CLI entry point next to this module (the one-process command line). */
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "..", "runtime", "cli", "main.js");

/** Path of the native front end (`native/front-end.c`): what podman and users run. */
export const FRONT_END_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "native",
  "build",
  "pier-runtime",
);

/**
 * The command and arguments that run `pier-runtime ARGS`: through the front end and the runtime
 * service, or with PIER_TEST_RUNTIME=direct as one Node.js process.
 */
export function pierRuntimeCommand(args: readonly string[]): [string, string[]] {
  return process.env.PIER_TEST_RUNTIME === "direct"
    ? [process.execPath, [CLI_PATH, ...args]]
    : [FRONT_END_PATH, [...args]];
}

/** Pids of the resident command services (runtime's or CLI's) listening on `socket`. */
export function servicePidsOn(socket: string): number[] {
  // The ES module entry (main.js) or the runtime's one-script bundle (service.cjs).
  // The front end adds `--ready-fd 3` (see native/front-end.c), a service started by hand does not.
  const r = spawnSync(
    "pgrep",
    ["-f", `service/(main\\.js|service\\.cjs) --socket ${socket}( --ready-fd 3)?$`],
    {
      encoding: "utf8",
    },
  );
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

/** Throws with an actionable message unless `bin` is on this machine. */
export function requireTool(bin: string, pkg: string): string {
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  throw new Error(`${bin} is missing: install Debian's ${pkg} (apt-get install -y ${pkg})`);
}

/** A default (runc spec) config running `script` with sh, without a terminal. */
export function scriptSpec(script: string, mutate?: (s: Spec) => void): Spec {
  const spec = defaultRuntimeSpec();
  const p = spec.process;
  if (p) {
    p.terminal = false;
    p.args = ["sh", "-c", script];
  }
  mutate?.(spec);
  return spec;
}

/** Writes a bundle at `dir`: `config.json` from `spec`, rootfs at `rootfs` (shared) or inside. */
export async function writeBundle(dir: string, spec: Spec, rootfs?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (rootfs) {
    if (spec.root) spec.root.path = rootfs;
  } else if (!existsSync(join(dir, "rootfs"))) {
    await writeBusyboxRootfs(join(dir, "rootfs"));
  }
  await writeFile(join(dir, "config.json"), JSON.stringify(spec, null, 2));
  return dir;
}

/** Runs a runtime command line (`pier-runtime` via node, or another binary such as runc). */
export function runtimeCmd(
  runtime: "pier" | string,
  args: string[],
  opts: { cwd?: string; input?: string; timeout?: number; detached?: boolean } = {},
): SpawnSyncReturns<string> {
  const [cmd, full] = runtime === "pier" ? pierRuntimeCommand(args) : [runtime, args];
  return spawnSync(cmd, full, {
    cwd: opts.cwd,
    encoding: "utf8",
    // A detached container keeps the stdio it inherited: give it none, or spawnSync waits for it.
    ...(opts.detached ? { stdio: "ignore" as const } : { input: opts.input ?? "" }),
    timeout: opts.timeout ?? 60000,
  });
}

/**
 * Listens on a unix socket for one console fd (SCM_RIGHTS), then copies what the pty prints to
 * stdout until it closes. Node cannot receive fds itself, so a tiny python3 receiver does it.
 */
export function consoleReceiver(socketPath: string): { ready: Promise<void>; output: Promise<string> } {
  const py = `
import socket, sys, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 1)
fd = fds[0]
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.write("name=" + msg.decode() + "\\n" + out.decode(errors="replace"))
`;
  return pythonSocketAgent(py, socketPath);
}

/**
 * Runs a python3 script that binds the unix socket `socketPath` (its argv[1]), prints `ready`
 * once listening, and writes what it received to stdout before exiting. Node cannot receive fds
 * over SCM_RIGHTS itself, hence python. `output` is everything printed after `ready`.
 */
export function pythonSocketAgent(
  py: string,
  socketPath: string,
): { ready: Promise<void>; output: Promise<string> } {
  const child = spawn(requireTool("python3", "python3"), ["-c", py, socketPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buf = "";
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((r) => {
    readyResolve = r;
  });
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    if (buf.startsWith("ready\n")) readyResolve();
  });
  const output = new Promise<string>((resolve) =>
    child.on("exit", () => resolve(buf.replace(/^ready\n/, ""))),
  );
  return { ready, output };
}
