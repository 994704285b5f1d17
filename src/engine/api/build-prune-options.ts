/**
 * The options of `POST /build/prune` besides its filters, as the Docker API takes them: `all`,
 * and `keep-storage` (bytes of cache to keep; the newer `reserved-space`, `max-used-space` and
 * `min-free-space` are refused by name rather than ignored).
 */
import { EngineError } from "../error.js";
import { flag, intParam } from "./http.js";

/** `all` and `keep-storage` of a build prune request. Pure. */
export function buildPruneOptions(query: URLSearchParams): { all: boolean; keepStorage?: number } {
  for (const name of ["reserved-space", "max-used-space", "min-free-space"]) {
    const v = query.get(name);
    if (v !== null && v !== "" && v !== "0")
      throw new EngineError("INVALID_ARGUMENT", `build prune: ${name} is not supported (use keep-storage)`);
  }
  const keep = intParam(query, "keep-storage");
  if (keep !== undefined && keep < 0)
    throw new EngineError("INVALID_ARGUMENT", "keep-storage: must not be negative");
  return { all: flag(query, "all"), ...(keep ? { keepStorage: keep } : {}) };
}
