/**
 * What Docker checks of a container's process before it runs, with Docker's messages and exit
 * codes: the working directory is made when missing (`-w /new/dir`), and a command that is not
 * there fails the start with 127 (`executable file not found in $PATH`, `no such file or
 * directory`) and one that cannot be executed with 126 (`permission denied`), as runc's lookup
 * does before the process starts. Paths are resolved inside the rootfs: nothing outside it.
 */
import { mkdirSync, statSync } from "node:fs";
import { resolveInRoot } from "../../layer/index.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { EngineError } from "../error.js";

/** Docker's default PATH, used when the process has none. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Makes the working directory `cwd` inside `rootfs` when missing (0755, owned by root as
 * Docker makes it); `INVALID_ARGUMENT` when something that is not a directory is in the way.
 */
export function ensureWorkingDir(rootfs: string, cwd: string): void {
  const host = resolveInRoot(rootfs, cwd, { followFinal: true });
  try {
    mkdirSync(host, { recursive: true, mode: 0o755 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR")
      throw new EngineError("INVALID_ARGUMENT", `Cannot mkdir: ${cwd} is not a directory`, { cause: err });
    throw err;
  }
}

/** Why the process of `spec` cannot be started, as Docker says it, with its exit code. */
export interface CommandProblem {
  exitCode: 126 | 127;
  message: string;
}

type Found = "ok" | "missing" | "denied" | "unknown";

/** What is at container path `path`: an executable file, nothing, something else, or a mount's. */
function lookup(rootfs: string, path: string, mounted: readonly string[]): Found {
  if (mounted.some((m) => path === m || path.startsWith(`${m}/`))) return "unknown";
  try {
    const st = statSync(resolveInRoot(rootfs, path, { followFinal: true }));
    return st.isFile() && (st.mode & 0o111) !== 0 ? "ok" : "denied";
  } catch {
    return "missing";
  }
}

/**
 * The problem with the command of `spec` in `rootfs` (runc's `LookPath`): a name without `/`
 * is searched in the process's PATH, a path is taken from its working directory. Paths under a
 * mount of the spec are the mount's to say (the runtime reports those). `undefined`: it can run.
 */
export function commandProblem(rootfs: string, spec: Spec): CommandProblem | undefined {
  const cmd = spec.process?.args?.[0];
  if (!cmd) return undefined;
  const mounted = (spec.mounts ?? []).map((m) => m.destination.replace(/\/+$/, "")).filter((d) => d !== "");
  const fail = (exitCode: 126 | 127, why: string): CommandProblem => ({
    exitCode,
    message: `failed to create task for container: OCI runtime create failed: unable to start container process: exec: ${JSON.stringify(cmd)}: ${why}: unknown`,
  });
  if (cmd.includes("/")) {
    const path = cmd.startsWith("/") ? cmd : `${spec.process?.cwd ?? "/"}/${cmd}`;
    const found = lookup(rootfs, path, mounted);
    if (found === "missing") return fail(127, `stat ${cmd}: no such file or directory`);
    if (found === "denied") return fail(126, "permission denied");
    return undefined;
  }
  const pathEnv = spec.process?.env?.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of pathEnv.split(":")) {
    const found = lookup(rootfs, `${dir.startsWith("/") ? dir : `/${dir}`}/${cmd}`, mounted);
    if (found === "ok" || found === "unknown") return undefined;
  }
  return fail(127, "executable file not found in $PATH");
}
