/**
 * The Dockerfile instructions `docker commit --change` and `docker import --change` take (moby's
 * `BuildFromConfig` list: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, STOPSIGNAL,
 * WORKDIR), applied to an image's exec config as a Dockerfile would. Any other instruction is
 * refused naming it, as Docker does. Pure.
 */
import { posix } from "node:path";
import { mergeEnv } from "../image/bundle-config.js";
import type { ImageExecConfig } from "../oci/types.js";
import { EngineError } from "./error.js";

/** `["a","b"]` (JSON form) or the shell form run by `/bin/sh -c`. */
function commandOf(args: string): string[] {
  const t = args.trim();
  if (t.startsWith("[")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch {
      // Not JSON: the shell form, as Docker's parser falls back to it.
    }
  }
  return ["/bin/sh", "-c", t];
}

/** `k=v k2="v 2"` pairs, or the old `KEY value` form (one pair). */
function pairs(instruction: string, args: string): [string, string][] {
  const t = args.trim();
  const first = /^[^\s=]+(\s|$)/.exec(t);
  if (first && !t.slice(0, first[0].length).includes("=")) {
    const rest = t.slice(first[0].length).trim();
    if (rest === "") throw new EngineError("INVALID_ARGUMENT", `${instruction} requires a value: ${t}`);
    return [[first[0].trim(), rest]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let consumed = "";
  for (const m of t.matchAll(re)) {
    out.push([m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : (m[4] ?? m[5] ?? "")]);
    consumed += m[0];
  }
  if (!out.length || consumed.replace(/\s/g, "").length !== t.replace(/\s/g, "").length)
    throw new EngineError("INVALID_ARGUMENT", `${instruction}: cannot parse ${JSON.stringify(t)}`);
  return out;
}

/** Words of `VOLUME`/`EXPOSE`: a JSON array or space-separated. */
function words(args: string): string[] {
  const t = args.trim();
  if (t.startsWith("[")) {
    const v = commandOf(t);
    if (v[0] !== "/bin/sh") return v;
  }
  return t.split(/\s+/).filter(Boolean);
}

/** Applies one `--change` line to `c` (a copy is returned). */
export function applyChange(c: ImageExecConfig, line: string): ImageExecConfig {
  const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(line);
  if (!m) throw new EngineError("INVALID_ARGUMENT", `empty change`);
  const instruction = m[1]!.toUpperCase();
  const args = m[2]!;
  const out: ImageExecConfig = { ...c };
  switch (instruction) {
    case "CMD":
      out.Cmd = commandOf(args);
      break;
    case "ENTRYPOINT":
      out.Entrypoint = commandOf(args);
      break;
    case "ENV":
      out.Env = mergeEnv(
        c.Env ?? [],
        pairs(instruction, args).map(([k, v]) => `${k}=${v}`),
      );
      break;
    case "LABEL":
      out.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(instruction, args)) };
      break;
    case "EXPOSE": {
      const ports = { ...(c.ExposedPorts ?? {}) };
      for (const p of words(args)) {
        if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(p))
          throw new EngineError("INVALID_ARGUMENT", `EXPOSE: invalid port ${JSON.stringify(p)}`);
        ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
      }
      out.ExposedPorts = ports;
      break;
    }
    case "VOLUME": {
      const vols = { ...(c.Volumes ?? {}) };
      for (const v of words(args)) vols[v] = {};
      out.Volumes = vols;
      break;
    }
    case "USER":
      out.User = args.trim();
      break;
    case "WORKDIR":
      out.WorkingDir = posix.resolve(c.WorkingDir || "/", args.trim());
      break;
    case "STOPSIGNAL":
      out.StopSignal = args.trim();
      break;
    case "ONBUILD":
      out.OnBuild = [...(c.OnBuild ?? []), args.trim()];
      break;
    default:
      throw new EngineError("INVALID_ARGUMENT", `${instruction.toLowerCase()} is not a valid change command`);
  }
  return out;
}

/** Applies every `--change` line in order. */
export function applyChanges(c: ImageExecConfig, lines: readonly string[]): ImageExecConfig {
  return lines.reduce(applyChange, c);
}
