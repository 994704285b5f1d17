/**
 * Which criu pier-runtime drives, and whether it is recent enough: `--criu PATH` (runc's global
 * flag), then `PIER_CRIU`, then the private prefix `scripts/install-criu.sh` fills, then PATH.
 * CRIU 3.x (Debian 12's 3.17) cannot dump on current kernels: version 4 or later is required.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { CriuError } from "./criu-error.js";
import { type CriuFeatures, ReqType } from "./rpc.js";
import { CriuSession } from "./swrk.js";

/** Where `scripts/install-criu.sh` installs CRIU's launcher. */
export const PRIVATE_CRIU = "/usr/local/lib/pier/criu/bin/criu";

/** The lowest CRIU major version pier-runtime accepts. */
export const MIN_CRIU_MAJOR = 4;

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The criu executable to use, by the order above; throws CRIU_MISSING naming where it looked. */
export function findCriu(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (flag) {
    if (!executable(flag)) throw new CriuError("CRIU_MISSING", `--criu ${flag}: not an executable file`);
    return flag;
  }
  const fromEnv = env.PIER_CRIU;
  if (fromEnv) {
    if (!executable(fromEnv))
      throw new CriuError("CRIU_MISSING", `PIER_CRIU=${fromEnv}: not an executable file`);
    return fromEnv;
  }
  if (executable(PRIVATE_CRIU)) return PRIVATE_CRIU;
  for (const dir of (env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(
    delimiter,
  )) {
    if (dir && executable(join(dir, "criu"))) return join(dir, "criu");
  }
  throw new CriuError(
    "CRIU_MISSING",
    `criu not found (looked at --criu, PIER_CRIU, ${PRIVATE_CRIU} and PATH): run scripts/install-criu.sh as root`,
  );
}

/** A CRIU version. */
export interface CriuVersion {
  major: number;
  minor: number;
  sublevel: number;
}

/**
 * Versions already asked, by executable and its file's identity (a resident process asks once
 * per CRIU binary, not once per dump: each ask starts a criu, which probes the kernel first).
 */
const knownVersions = new Map<string, CriuVersion>();

function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * CRIU's version, asked over RPC (once per executable file while it stays the same); throws
 * CRIU_TOO_OLD below {@link MIN_CRIU_MAJOR}.
 */
export async function checkCriuVersion(criu: string): Promise<CriuVersion> {
  const key = fileIdentity(criu);
  const known = key === undefined ? undefined : knownVersions.get(key);
  if (known) return known;
  const v = await askCriuVersion(criu);
  if (key !== undefined) knownVersions.set(key, v);
  return v;
}

async function askCriuVersion(criu: string): Promise<CriuVersion> {
  const s = await CriuSession.start({ criu });
  try {
    let r: Awaited<ReturnType<CriuSession["call"]>>;
    try {
      r = await s.call({ type: ReqType.VERSION });
    } catch (err) {
      throw new CriuError(
        "CRIU_FAILED",
        `${criu} does not answer CRIU's version request (is it criu?): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const v = {
      major: r.version?.major ?? 0,
      minor: r.version?.minor ?? 0,
      sublevel: r.version?.sublevel ?? 0,
    };
    if (v.major < MIN_CRIU_MAJOR)
      throw new CriuError(
        "CRIU_TOO_OLD",
        `${criu} is CRIU ${v.major}.${v.minor}.${v.sublevel}; pier-runtime needs CRIU ${MIN_CRIU_MAJOR} or later (CRIU 3.x cannot dump on current kernels): run scripts/install-criu.sh, or name one with --criu or PIER_CRIU`,
      );
    return v;
  } finally {
    await s.close();
  }
}

/** Which of `wanted` CRIU and the kernel lack (FEATURE_CHECK over RPC), by runc's names. */
export async function missingFeatures(criu: string, wanted: CriuFeatures): Promise<string[]> {
  const s = await CriuSession.start({ criu });
  try {
    const r = await s.call({ type: ReqType.FEATURE_CHECK, features: wanted });
    const missing: string[] = [];
    if (wanted.memTrack && !r.features?.memTrack) missing.push("MemTrack");
    if (wanted.lazyPages && !r.features?.lazyPages) missing.push("LazyPages");
    return missing;
  } finally {
    await s.close();
  }
}
