/**
 * Keeps a long-lived process's young generation at the size V8 starts with. V8 doubles the
 * young generation (up to 3 × 16 MiB on 64-bit) whenever a burst of allocation survives a
 * scavenge, and never gives the memory back while the process lives: a registry after one load
 * test, or pierd after starting 50 containers, kept 30-50 MiB of it (`bench/registry`,
 * `bench/engine`). Servers that answer small requests gain little from a large young
 * generation; the scavenges it saves cost less than the memory (see the closing note of
 * issue 21 for the measurements).
 *
 * `--max-semi-space-size` is read only when the heap is set up, so on a running process the
 * growth factor is what can be set: 1 means "never grow". Call it once, early, from the entry
 * point of a resident process (never from a library).
 */
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

const NO_GROWTH_FLAG = "--semi-space-growth-factor=1";

let reassertOnWorkers = false;

/**
 * Stops the young generation from growing (past its second semispace) for the rest of this
 * process's life. The flag is process-wide and V8 raises it back to 2 whenever it sets up a
 * heap, which every Worker thread's isolate does (a pull's layer apply, a build's file
 * workers, the registry's bcrypt pool): pierd's grew to 16 MiB again after its first pull. So it
 * is set again as soon as each worker runs (`online`, after its heap exists); a burst that falls
 * in those few milliseconds may double the young generation once, which V8 shrinks again when
 * allocation slows.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString(NO_GROWTH_FLAG);
  if (reassertOnWorkers) return;
  reassertOnWorkers = true;
  process.on("worker", (worker) => {
    const again = () => setFlagsFromString(NO_GROWTH_FLAG);
    worker.once("online", again);
    worker.once("exit", again);
  });
}

/**
 * The same cap as {@link keepYoungGenerationSmall} for a process's command line (`node FLAG
 * script`), for an entry point that must not change V8's flags at run time (a flag set then
 * voids a V8 code cache: the runtime service's bundle, `scripts/service-loader.cjs`). Given on
 * the command line, `--semi-space-growth-factor=1` does not cap (V8 grows the young generation
 * to 32 MiB all the same); the semispace's maximum does, as the heap is set up.
 */
export const YOUNG_GENERATION_CAP_FLAG = "--max-semi-space-size=1";

/** The young generation's current size in bytes (for tests and benchmarks). */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/**
 * How far past its live size (after a full collection) the old generation may grow before the
 * next full collection, in percent, for {@link keepOldGenerationTight}.
 */
const OLD_GENERATION_GROWTH_PERCENT = 20;

/**
 * Lets the old generation grow by {@link OLD_GENERATION_GROWTH_PERCENT} past what survived the
 * last full collection (V8 then still adds at least a few MiB) instead of V8's factor of up to
 * 4 for a heap that collects fast. A server under request load promotes some of each request's
 * short-lived objects; with V8's factor the registry's old generation grew from 8 to 22-31 MiB
 * within 10 s of `wrk` before a full collection ran, with this it stays at 16 MiB
 * (bench/registry, session 8); the full collections it adds cost a few milliseconds each, every
 * few seconds under that load. The factor is read at every collection, so it applies from the
 * next one. Call it once from a resident process's entry point.
 */
export function keepOldGenerationTight(): void {
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
}
