/**
 * `create`: sets up a container from a bundle and leaves its process waiting on the exec fifo
 * (status `created`). Every failure on the way kills what was started and removes the state, so
 * the id is free again.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { isErrno } from "../../errors.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { parseSpec } from "../../oci/runtime-spec/validate.js";
import { detectLayout, readMountTable } from "../cgroups/mountinfo.js";
import { RuntimeError } from "../error.js";
import {
  type HelperLauncher,
  type HelperSession,
  type LaunchedHelper,
  launchHelper,
  startHelper,
} from "../helper.js";
import { runHooks } from "../hooks.js";
import { hostFacts } from "../host-facts.js";
import { NOTIFY_READY, planCreate, SYNC_CGROUP, SYNC_HOOKS, SYNC_SECCOMP } from "../plan/create-plan.js";
import type { SeccompProgram } from "../plan/process-ops.js";
import { processStartTime, type StoredContainer } from "../state-store.js";
import { type ContainerCgroup, cgroupForContainer } from "./cgroup-link.js";
import type { RuntimeContext } from "./context.js";

/** Options of {@link createContainer} (runc `create` flags). */
export interface CreateOptions {
  id: string;
  /** Bundle directory (default: the current directory). */
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Stdio handed to the container (default: inherited). */
  stdio?: readonly ("inherit" | "ignore" | "pipe" | number)[];
  /** `wait`: the helper stays as the container's parent and exits with its status (for `run`). */
  mode?: "detach" | "wait";
  /** How pier-init is started (default: a child of this process); see {@link HelperLauncher}. */
  launch?: HelperLauncher;
  /**
   * Start pier-init through `launch` before the plan is made, so that its start overlaps the
   * plan's making. Only for a launcher whose pier-init says nothing of its own when it gets no
   * plan and relays this command's output meanwhile: the runtime service's caller (see
   * `native/pier-init.c`, the control channel). A failure before the plan closes its socket.
   */
  launchEarly?: boolean;
  /** pier-init's parent writes the container's pid here as soon as it is known (for a monitor). */
  earlyPidFile?: string;
}

/** A created container, its cgroup and its live helper session. */
export interface Created {
  container: StoredContainer;
  cgroup: ContainerCgroup;
  session: HelperSession;
}

/** Reads and validates `<bundle>/config.json`; errors name the field. */
export async function loadBundleSpec(bundle: string): Promise<Spec> {
  let text: string;
  try {
    text = readFileSync(resolve(bundle, "config.json"), "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT"))
      throw new RuntimeError("INVALID_CONFIG", `JSON specification file config.json not found`);
    throw err;
  }
  try {
    return parseSpec(text);
  } catch (err) {
    throw new RuntimeError("INVALID_CONFIG", `config.json: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a pid file atomically (as runc: temp file + rename). */
export async function writePidFile(path: string, pid: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

async function waitGoneAll(pid: number): Promise<void> {
  for (let i = 0; pid > 0 && i < 500 && processStartTime(pid) !== undefined; i++)
    await new Promise((r) => setTimeout(r, 2));
}

/** Creates container `opts.id`; resolves once its process waits for `start`. */
export async function createContainer(ctx: RuntimeContext, opts: CreateOptions): Promise<Created> {
  const { store } = ctx;
  const bundle = resolve(opts.bundle ?? ".");
  store.dir(opts.id);
  const helperIo = {
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    preserveFds: opts.preserveFds ?? 0,
    ...(opts.launch ? { launch: opts.launch } : {}),
  };
  let early: Promise<LaunchedHelper> | undefined = opts.launchEarly ? startHelper(helperIo) : undefined;
  early?.catch(() => {}); // its failure is launchHelper's to report, once it awaits it
  // Not handed to launchHelper (a failure on the way): the helper gets no plan and leaves.
  const dropEarly = () => {
    void early?.then(
      (h) => h.sync.destroy(),
      () => {},
    );
    early = undefined;
  };
  let spec: Spec;
  try {
    spec = await loadBundleSpec(bundle);
    await store.claim(opts.id);
  } catch (err) {
    dropEarly();
    throw err;
  }
  let cgroup: ContainerCgroup | undefined;
  let pid = 0;
  try {
    // The compiler (syscall tables) loads only for configs that have a profile: start-up time.
    const seccomp: SeccompProgram | undefined = spec.linux?.seccomp
      ? (await import("./seccomp-link.js")).compileSeccompFor(spec)
      : undefined;
    // The mount table once, for the cgroup layout and the planner's host facts: it is long on a
    // host that runs many containers.
    const mounts = readMountTable();
    cgroup = await cgroupForContainer(
      opts.id,
      spec,
      ctx.systemdCgroup === true,
      ctx.warn,
      ctx.ownCgroups,
      mounts && detectLayout(mounts),
    );
    const plan = planCreate({
      id: opts.id,
      spec,
      bundle,
      fifoPath: store.fifoPath(opts.id),
      mode: opts.mode ?? "detach",
      noPivot: opts.noPivot === true,
      noNewKeyring: opts.noNewKeyring === true,
      preserveFds: opts.preserveFds ?? 0,
      ...(opts.consoleSocket ? { consoleSocket: resolve(opts.consoleSocket) } : {}),
      ...(seccomp ? { seccomp } : {}),
      host: hostFacts(cgroup.dirs, mounts),
      ...(opts.earlyPidFile ? { parentPidFile: resolve(opts.earlyPidFile) } : {}),
    });
    for (const w of plan.warnings) ctx.warn(w);
    const record: StoredContainer = {
      id: opts.id,
      pid: 0,
      pidStartTime: "",
      bundle,
      rootfs: plan.rootfs,
      created: new Date().toISOString(),
      owner: "",
      config: spec,
      newNamespaces: plan.newNamespaces,
      ready: false,
    };
    record.cgroupPath = cgroup.path;
    await store.save(record);
    // status and pid last: pier-init's hookstate op rewrites that tail for in-container hooks.
    const stateFor = (p: number) =>
      JSON.stringify({
        ociVersion: spec.ociVersion,
        id: opts.id,
        bundle,
        annotations: spec.annotations ?? {},
        status: "creating",
        pid: p,
      });
    const started = early;
    early = undefined;
    const session = await launchHelper({
      ops: plan.ops,
      ...helperIo,
      ...(started ? { started } : {}),
      until: { notify: NOTIFY_READY },
      onSync: async (name, p) => {
        pid = p;
        if (name === SYNC_CGROUP) {
          await cgroup?.addProcess(p);
          return undefined;
        }
        if (name === SYNC_SECCOMP) {
          const metadata = seccomp?.listenerMetadata;
          return JSON.stringify({
            ociVersion: spec.ociVersion,
            fds: ["seccompFd"],
            pid: p,
            ...(metadata !== undefined ? { metadata } : {}),
            state: JSON.parse(stateFor(p)),
          });
        }
        if (name === SYNC_HOOKS) {
          const state = stateFor(p);
          await runHooks(spec.hooks?.prestart, state, "prestart");
          await runHooks(spec.hooks?.createRuntime, state, "createRuntime");
          return state;
        }
        return undefined;
      },
    });
    pid = session.pid;
    record.pid = pid;
    record.pidStartTime = processStartTime(pid) ?? "";
    record.ready = true;
    await store.save(record);
    if (opts.pidFile) await writePidFile(resolve(opts.pidFile), pid);
    return { container: record, cgroup, session };
  } catch (err) {
    dropEarly();
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    if (cgroup) {
      const cg = cgroup;
      await waitGoneAll(pid)
        .then(() => cg.destroy())
        .catch(() => {});
    }
    await store.remove(opts.id);
    throw err;
  }
}
