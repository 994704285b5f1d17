/**
 * Builds the `process` of `pier-runtime exec` from its flags, as runc does: a `--process` file
 * as is, or the container's own process with the arguments and flags laid over it.
 */
import { readFile } from "node:fs/promises";
import type { Process, Spec } from "../../oci/runtime-spec/config.js";
import { MAX_PROCESS_ID } from "../../oci/runtime-spec/json-checks.js";
import { validateSpec } from "../../oci/runtime-spec/validate.js";
import { RuntimeError } from "../error.js";

/** Flags of `exec` that shape the process. */
export interface ExecFlags {
  processFile?: string;
  args: string[];
  env: string[];
  cwd?: string;
  user?: string;
  additionalGids: string[];
  caps: string[];
  tty: boolean;
  noNewPrivs: boolean;
}

/** The process to exec; throws `INVALID_ARGUMENT` for bad flags or a bad process file. */
export async function buildExecProcess(config: Spec, f: ExecFlags): Promise<Process> {
  if (f.processFile) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(f.processFile, "utf8"));
    } catch (err) {
      throw new RuntimeError("INVALID_ARGUMENT", `process file ${f.processFile}: ${(err as Error).message}`);
    }
    try {
      const spec = validateSpec({ ociVersion: "1.0.0", process: value });
      return spec.process as Process;
    } catch (err) {
      throw new RuntimeError("INVALID_ARGUMENT", `process file ${f.processFile}: ${(err as Error).message}`);
    }
  }
  if (f.args.length === 0) throw new RuntimeError("INVALID_ARGUMENT", "args must not be empty");
  const base = config.process;
  const p: Process = {
    terminal: f.tty,
    user: { ...(base?.user ?? { uid: 0, gid: 0 }) },
    args: f.args,
    env: [...(base?.env ?? []), ...f.env],
    cwd: f.cwd ?? base?.cwd ?? "/",
    noNewPrivileges: f.noNewPrivs || base?.noNewPrivileges === true,
  };
  if (base?.capabilities) p.capabilities = structuredClone(base.capabilities);
  if (base?.rlimits) p.rlimits = base.rlimits;
  if (f.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(f.user);
    if (!m)
      throw new RuntimeError(
        "INVALID_ARGUMENT",
        `invalid --user ${JSON.stringify(f.user)}: want <uid>[:<gid>]`,
      );
    p.user = {
      uid: idArg(m[1] as string, "--user", "uid"),
      gid: m[2] !== undefined ? idArg(m[2], "--user", "gid") : 0,
    };
  }
  if (f.additionalGids.length) {
    p.user.additionalGids = f.additionalGids.map((g) => {
      if (!/^\d+$/.test(g))
        throw new RuntimeError("INVALID_ARGUMENT", `invalid additional gid ${JSON.stringify(g)}`);
      return idArg(g, "--additional-gids", "gid");
    });
  }
  if (f.caps.length) {
    p.capabilities ??= {};
    const c = p.capabilities;
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) {
      c[set] = [...new Set([...(c[set] ?? []), ...f.caps])];
    }
  }
  return p;
}

/** A decimal uid or gid of a flag, in runc's range; more (2^32 would wrap to root) is refused. */
function idArg(text: string, flag: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > MAX_PROCESS_ID)
    throw new RuntimeError(
      "INVALID_ARGUMENT",
      `invalid ${flag}: ${what} ${text} is out of range (0 to ${MAX_PROCESS_ID})`,
    );
  return n;
}
