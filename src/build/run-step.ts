/**
 * A RUN step: the command runs in a real container through pier's runtime library (the same
 * create/start/wait/delete as `pier-runtime run`), with the step's overlay as its root, the
 * stage's Env (plus the build args in scope), WorkingDir and User (looked up in the root's
 * /etc/passwd and /etc/group as for any container), the runc default namespaces, and Docker's
 * (and BuildKit's) confinement of a container: its 14 default capabilities, its default seccomp
 * profile, no `no_new_privs` (a setuid `su` works in RUN as in `docker run`), the masked and
 * read-only /proc paths. `--network=none` keeps the container's own empty network namespace; `default`
 * (BuildKit's default) shares the host's. Its output is streamed to the caller.
 */
import { type StdioOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { release } from "node:os";
import { join } from "node:path";
import { runtimeConfigFromImage } from "../image/bundle-config.js";
import { readUserFiles } from "../image/rootfs-files.js";
import { stringifyExactJson } from "../oci/exact-json.js";
import type { Mount, Spec } from "../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import { childExitStatus, type HelperLauncher } from "../runtime/helper.js";
import { runtimeContext } from "../runtime/lifecycle/context.js";
import { runContainer } from "../runtime/lifecycle/run.js";
import { DOCKER_DEFAULT_CAPS, dockerDefaultSeccompProfile } from "../runtime/seccomp/docker-default.js";
import { goArch, renderDockerSeccomp } from "../runtime/seccomp/docker-profile.js";

/** What one RUN executes. */
export interface RunRequest {
  /** The step's mounted root (an overlay). */
  rootfs: string;
  args: string[];
  env: string[];
  workdir: string;
  user: string;
  network: "none" | "default";
  /** Extra mounts (`--mount=type=cache|bind|tmpfs|secret`). */
  mounts: Mount[];
  /** Receives the container's stdout and stderr as they come. */
  output: (chunk: Buffer) => void;
  /** Where the runtime keeps its state (`<build root>/runtime`). */
  stateRoot: string;
  /** A scratch directory for the bundle. */
  scratch: string;
}

/** Runs the command; resolves with its exit status (128+signal when killed). */
export async function runStep(req: RunRequest): Promise<number> {
  const base = defaultRuntimeSpec();
  const spec = runtimeConfigFromImage(
    {
      architecture: "",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
      config: { Env: req.env, Cmd: req.args, WorkingDir: req.workdir, User: req.user },
    },
    base,
    await readUserFiles(req.rootfs),
  );
  spec.root = { path: req.rootfs, readonly: false };
  confine(spec);
  if (spec.process) spec.process.terminal = false;
  spec.hostname = "buildkitsandbox";
  if (req.network === "default" && spec.linux?.namespaces)
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "network");
  spec.mounts = [...(spec.mounts ?? []), ...req.mounts];
  const bundle = await mkdtemp(join(req.scratch, "bundle-"));
  const id = `pier-build-${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(join(bundle, "config.json"), stringifyExactJson(spec));
    const launch: HelperLauncher = (bin, stdio) => {
      const child = spawn(bin, [String(stdio.length)], {
        stdio: ["ignore", "pipe", "pipe", ...stdio.slice(3), "pipe"] as StdioOptions,
        env: {},
      });
      child.stdout?.on("data", (c: Buffer) => req.output(c));
      child.stderr?.on("data", (c: Buffer) => req.output(c));
      const sync = child.stdio[stdio.length] as Socket;
      child.on("error", (err) => sync.destroy(err));
      // No `kill`: a signal to this process (pierd's SIGHUP) is not the step's to receive.
      return { sync, exited: childExitStatus(child) };
    };
    const ctx = runtimeContext(req.stateRoot, (m) => req.output(Buffer.from(`WARN: ${m}\n`)));
    return await runContainer(ctx, { id, bundle, stdio: ["ignore", "pipe", "pipe"], launch });
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * Docker's default confinement, as moby's `SetCapabilities` and seccomp default give it to a
 * container (and BuildKit to a RUN step): the 14 capabilities (a non-root user keeps only the
 * bounding set, as execve would leave it), the default seccomp profile rendered for them, and
 * `no_new_privs` off.
 */
function confine(spec: Spec): void {
  const caps = [...DOCKER_DEFAULT_CAPS];
  if (spec.process) {
    spec.process.capabilities =
      spec.process.user.uid === 0
        ? { bounding: [...caps], effective: [...caps], permitted: [...caps] }
        : { bounding: [...caps] };
    spec.process.noNewPrivileges = false;
  }
  spec.linux = {
    ...spec.linux,
    seccomp: renderDockerSeccomp(dockerDefaultSeccompProfile(), { caps, arch: goArch(), kernel: release() }),
  };
}
