/**
 * The grammars of `-v`/`HostConfig.Binds` and `--tmpfs`, shared by the CLI (which checks its
 * flags before calling pierd) and the Docker API. Pure: no server code, so the CLI imports it.
 */
import { EngineError } from "../error.js";
import type { MountRequest } from "./config.js";

/**
 * One `HostConfig.Binds` entry (`/host:/ctr[:ro]`, `volume:/ctr[:ro]` or an anonymous volume's
 * `/ctr`) as a mount request.
 * The mode may also hold Docker's `rw`, `z`, `Z`, `nocopy` and propagation words, accepted and
 * ignored. Pure.
 */
export function parseBind(bind: string): MountRequest {
  const parts = bind.split(":");
  if (parts.length === 1 && bind.startsWith("/")) return { type: "volume", source: "", target: bind };
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
    throw new EngineError("INVALID_ARGUMENT", `invalid volume specification: '${bind}'`);
  const [source, target, mode = ""] = parts as [string, string, string?];
  const words = mode ? mode.split(",") : [];
  const known = [
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "rprivate",
    "private",
    "rshared",
    "shared",
    "rslave",
    "slave",
  ];
  for (const w of words)
    if (!known.includes(w))
      throw new EngineError("INVALID_ARGUMENT", `invalid mode: ${w} in volume specification '${bind}'`);
  const isBind = source.startsWith("/");
  return {
    type: isBind ? "bind" : "volume",
    source,
    target,
    ...(words.includes("ro") ? { readOnly: true } : {}),
    // As Docker: `-v /missing:/x` makes the host directory (`--mount type=bind` refuses).
    ...(isBind ? { createSource: true } : {}),
  };
}

/** One tmpfs (`--tmpfs /path[:size=64m,mode=1777,ro]`'s path and options) as a mount request. Pure. */
export function parseTmpfs(target: string, opts: string): MountRequest {
  const words = opts ? opts.split(",") : [];
  return {
    type: "tmpfs",
    source: "",
    target,
    ...(words.includes("ro") ? { readOnly: true } : {}),
    options: words.filter((w) => w !== "ro" && w !== "rw"),
  };
}
