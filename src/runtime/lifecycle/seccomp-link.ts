/**
 * Compiles `linux.seccomp` for the helper with the seccomp compiler (`src/runtime/seccomp/`).
 * Compiled programs are kept by profile: a daemon starts most containers with the same one
 * (Docker's default, rendered for the default capabilities), and compiling it took 2-15 ms of
 * each container start in pierd's profile.
 */

import { stringifyExactJson } from "../../oci/exact-json.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import type { SeccompProgram } from "../plan/process-ops.js";
import { compileSeccompFilter } from "../seccomp/compile.js";

/** A compiled profile and the compiler's debug notes about it (given again on a hit). */
interface CacheEntry {
  program: SeccompProgram;
  notes: string[];
}

/** How many distinct profiles stay compiled (the least recently used one goes first). */
const CACHE_SIZE = 16;
const cache = new Map<string, CacheEntry>();

/**
 * The filter program for `spec.linux.seccomp`, or undefined when the config has none. The
 * result is shared with other callers that give the same profile: its `bpf` must not be changed.
 */
export function compileSeccompFor(spec: Spec, debug?: (m: string) => void): SeccompProgram | undefined {
  if (!spec.linux?.seccomp) return undefined;
  // The whole profile is the key, exactly, with the host's architecture, which the program always
  // covers. JSON.stringify is twice as quick as the exact writer (no replacer) and refuses a bigint
  // (a value past 2^53): only such a profile takes the exact writer's digits.
  let text: string;
  try {
    text = JSON.stringify(spec.linux.seccomp);
  } catch {
    text = stringifyExactJson(spec.linux.seccomp);
  }
  const key = `${process.arch}\n${text}`;
  let entry = cache.get(key);
  if (entry) {
    cache.delete(key);
  } else {
    // The stored config keeps JSON numbers; the compiler wants the validated form (bigint values).
    const seccomp = validateLinuxSeccomp(spec.linux.seccomp);
    const notes: string[] = [];
    const compiled = compileSeccompFilter(seccomp, { debug: (m) => notes.push(m) });
    entry = {
      notes,
      program: {
        flags: compiled.flags,
        bpf: compiled.program,
        ...(compiled.notify && seccomp.listenerPath ? { listenerPath: seccomp.listenerPath } : {}),
        ...(compiled.notify && seccomp.listenerMetadata !== undefined
          ? { listenerMetadata: seccomp.listenerMetadata }
          : {}),
      },
    };
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, entry);
  if (debug) for (const note of entry.notes) debug(note);
  return { ...entry.program };
}
