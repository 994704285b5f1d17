/**
 * What a container is made from (pier's own create request; the Docker API translates into it)
 * and the pure decisions made from it: validation, the effective image config, the runtime spec.
 */
import { runtimeConfigFromImage, type UserFiles } from "../../image/bundle-config.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import type { ImageConfig } from "../../oci/types.js";
import { EngineError } from "../error.js";

/** Docker's restart policies. */
export interface RestartPolicy {
  name: "no" | "always" | "on-failure" | "unless-stopped";
  maximumRetryCount?: number;
}

/** The settings of a new container. Unset fields come from the image. */
export interface ContainerConfig {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  /** Output framing as Docker's `Tty` (no terminal is allocated yet: see the module README). */
  tty?: boolean;
  /** Keep stdin open for attach (`-i`). */
  openStdin?: boolean;
  hostname?: string;
  labels?: Record<string, string>;
  /** Remove the container once it exits (`--rm`). */
  autoRemove?: boolean;
  restartPolicy?: RestartPolicy;
  /** `none` (loopback only, the default), `host`. */
  networkMode?: string;
  stopSignal?: string;
  /** Seconds between the stop signal and SIGKILL (default 10). */
  stopTimeout?: number;
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks a container name as Docker does; returns it without a leading `/`. Pure. */
export function checkName(name: string): string {
  if (!NAME_RE.test(name))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  return name.replace(/^\//, "");
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new EngineError("INVALID_ARGUMENT", `${what} must be an array of strings`);
  return v as string[];
}

function optString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new EngineError("INVALID_ARGUMENT", `${what} must be a string`);
  return v;
}

/** Parses `no`, `always`, `unless-stopped`, `on-failure[:N]`. Pure. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure"))
    throw new EngineError("INVALID_ARGUMENT", `invalid restart policy ${JSON.stringify(text)}`);
  const name = m[1] as RestartPolicy["name"];
  return m[2] === undefined ? { name } : { name, maximumRetryCount: Number(m[2]) };
}

/** Validates an untrusted create request (pier's API body); errors name the field. Pure. */
export function parseContainerConfig(body: unknown): ContainerConfig {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "container config must be a JSON object");
  const b = body as Record<string, unknown>;
  const image = optString(b.image, "image");
  if (!image) throw new EngineError("INVALID_ARGUMENT", "image is required");
  const c: ContainerConfig = { image };
  const cmd = strings(b.cmd, "cmd");
  if (cmd) c.cmd = cmd;
  const ep = strings(b.entrypoint, "entrypoint");
  if (ep) c.entrypoint = ep;
  const env = strings(b.env, "env");
  if (env) {
    for (const e of env)
      if (!e.includes("=")) throw new EngineError("INVALID_ARGUMENT", `env entry ${e} has no '='`);
    c.env = env;
  }
  for (const k of ["workingDir", "user", "hostname", "networkMode", "stopSignal"] as const) {
    const v = optString(b[k], k);
    if (v !== undefined) c[k] = v;
  }
  if (c.workingDir !== undefined && !c.workingDir.startsWith("/"))
    throw new EngineError("INVALID_ARGUMENT", `workingDir ${c.workingDir} must be an absolute path`);
  if (c.networkMode !== undefined && !["none", "host", "default", "bridge"].includes(c.networkMode))
    throw new EngineError("INVALID_ARGUMENT", `network ${c.networkMode} not found`);
  for (const k of ["tty", "openStdin", "autoRemove"] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== "boolean") throw new EngineError("INVALID_ARGUMENT", `${k} must be a boolean`);
    c[k] = b[k] as boolean;
  }
  if (b.stopTimeout !== undefined && b.stopTimeout !== null) {
    if (typeof b.stopTimeout !== "number" || !Number.isInteger(b.stopTimeout))
      throw new EngineError("INVALID_ARGUMENT", "stopTimeout must be an integer");
    c.stopTimeout = b.stopTimeout;
  }
  if (b.labels !== undefined && b.labels !== null) {
    if (typeof b.labels !== "object" || Object.values(b.labels).some((v) => typeof v !== "string"))
      throw new EngineError("INVALID_ARGUMENT", "labels must map strings to strings");
    c.labels = b.labels as Record<string, string>;
  }
  if (b.restartPolicy !== undefined && b.restartPolicy !== null) {
    const rp = b.restartPolicy as Record<string, unknown>;
    const name = typeof rp === "object" ? rp.name : undefined;
    if (name !== undefined && name !== "") {
      const policy = parseRestartPolicy(String(name));
      if (typeof rp.maximumRetryCount === "number" && rp.maximumRetryCount > 0)
        policy.maximumRetryCount = rp.maximumRetryCount;
      if (policy.name !== "no") c.restartPolicy = policy;
    }
  }
  if (c.autoRemove && c.restartPolicy)
    throw new EngineError("INVALID_ARGUMENT", "conflicting options: restart policy and auto-remove");
  return c;
}

/**
 * The image config with the container's overrides applied as Docker does: an entrypoint given
 * replaces the image's and drops its Cmd unless a cmd is given too; env entries replace the
 * image's of the same name. Pure.
 */
export function effectiveImageConfig(image: ImageConfig, c: ContainerConfig): ImageConfig {
  const exec = { ...(image.config ?? {}) };
  if (c.entrypoint) {
    exec.Entrypoint = c.entrypoint;
    exec.Cmd = c.cmd ?? null;
  } else if (c.cmd) {
    exec.Cmd = c.cmd;
  }
  if (c.env) exec.Env = [...(exec.Env ?? []), ...c.env];
  if (c.user !== undefined) exec.User = c.user;
  if (c.workingDir !== undefined) exec.WorkingDir = c.workingDir;
  return { ...image, config: exec };
}

/** Inputs of {@link containerSpec} that are not in the config. */
export interface SpecContext {
  id: string;
  rootfs: string;
  files?: UserFiles;
}

/**
 * The runtime spec of a container: `runc spec` defaults, the effective image config, a writable
 * rootfs at `ctx.rootfs`, the hostname (default: the first 12 characters of the id, as Docker),
 * no terminal, and the network namespace dropped for `host`. Pure.
 */
export function containerSpec(image: ImageConfig, c: ContainerConfig, ctx: SpecContext): Spec {
  const spec = runtimeConfigFromImage(effectiveImageConfig(image, c), defaultRuntimeSpec(), ctx.files ?? {});
  if (!spec.process?.args?.length) throw new EngineError("INVALID_ARGUMENT", "No command specified");
  spec.process.terminal = false;
  spec.root = { path: ctx.rootfs, readonly: false };
  spec.hostname = c.hostname ?? ctx.id.slice(0, 12);
  if (spec.process.env && !spec.process.env.some((e) => e.startsWith("HOSTNAME=")))
    spec.process.env.push(`HOSTNAME=${spec.hostname}`);
  if (c.networkMode === "host" && spec.linux?.namespaces) {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "network" && n.type !== "uts");
    delete spec.hostname;
  }
  return spec;
}
