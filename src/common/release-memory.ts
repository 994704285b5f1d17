/**
 * Gives a long-running server's freed malloc memory back to the system after bulk transfers.
 * glibc keeps what a burst of large buffers (a push's upload chunks, a pull's read buffers) left
 * freed but fragmented in the heap, resident until the process exits: 11.7 MiB of the registry's
 * peak in `bench/registry`, which `malloc_trim(0)` returns. Node has no binding for it; the
 * Node-API addon `native/build/malloc-trim.node` (native/malloc-trim.c) is built by
 * native/build.sh when Node.js's headers are installed. Without it every call here is a no-op.
 *
 * Not per request: {@link bulkTransfer} counts what moved, and once a few MiB moved a collection
 * and a trim run when no transfer has been under way for a moment (both walk the whole heap: a
 * few milliseconds).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Bytes moved after which a trim is worth scheduling. */
const TRIM_AFTER_BYTES = 8 << 20;
/** How long the server must go without bulk bytes before the trim runs (ms). */
const QUIET_MS = 300;

interface MallocTrimAddon {
  mallocTrim(): boolean;
}

let addon: MallocTrimAddon | null | undefined;

/** The addon, or null when it is not built (looked up once, above this file: dist/ or a bench build). */
function loadAddon(): MallocTrimAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, "native", "build", "malloc-trim.node");
    if (existsSync(file)) {
      try {
        addon = createRequire(import.meta.url)(file) as MallocTrimAddon;
      } catch {
        // Built for another Node.js or C library: run without it.
      }
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return addon;
}

/** True when this process can trim its heap (the addon is built and loads). */
export function canReleaseMemory(): boolean {
  return loadAddon() !== null;
}

/** Returns the malloc heap's free memory to the system now; false when nothing went back or there is no addon. */
export function releaseFreedMemory(): boolean {
  return loadAddon()?.mallocTrim() ?? false;
}

/** The exposed `gc` of V8 (`{ type: "minor" }` collects only the young generation). */
type Collect = (options?: { type: "minor" | "major" }) => void;

let collect: Collect | undefined;

/**
 * A full V8 collection. Garbage Buffers (a pull's read buffers, an upload's chunks) hold their
 * malloc memory until V8 collects them, which an idle server's small heap may not do for a long
 * time: without it the trim finds little to return (bench/registry: 22 MiB of dead Buffers).
 * `--expose-gc` applies to contexts made after it is set: a fresh context hands out its `gc`.
 */
function collectGarbage(options?: { type: "minor" | "major" }): void {
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as Collect;
    setFlagsFromString("--no-expose-gc");
  }
  collect(options);
}

/** Request body bytes after which the young generation is collected (see {@link bodyBytesArrived}). */
const SCAVENGE_AFTER_BYTES = 8 << 20;
let arrivedSinceScavenge = 0;

/**
 * Counts the bytes of a request body as its pieces arrive; every {@link SCAVENGE_AFTER_BYTES}
 * (over all requests), one collection of V8's young generation (a scavenge: well under a
 * millisecond for a server's small young generation). Node reads a socket into a fresh buffer
 * each time (64 KiB), which is garbage once the piece is stored, but V8 schedules its
 * collections by the JS objects made, a few per piece: a 1 GiB `skopeo` push left 30-35 MiB of
 * such buffers waiting (bench/registry, session 8), resident and then fragmenting the heap.
 */
export function bodyBytesArrived(bytes: number): void {
  arrivedSinceScavenge += bytes;
  if (arrivedSinceScavenge < SCAVENGE_AFTER_BYTES) return;
  arrivedSinceScavenge = 0;
  collectGarbage({ type: "minor" });
}

let pendingBytes = 0;
let inFlight = 0;
let timer: NodeJS.Timeout | undefined;

/** When the trim is repeated after a collection, for what the background sweep freed meanwhile. */
const LATE_TRIMS_MS = [250, 1000];

let lastTrim = Number.NEGATIVE_INFINITY;

function trimNow(): void {
  timer = undefined;
  pendingBytes = 0;
  lastTrim = performance.now();
  collectGarbage();
  releaseFreedMemory();
  // V8 frees dead ArrayBuffers' memory on a background thread after the collection: on a busy
  // machine that comes after the trim above, which then finds nothing to give back.
  for (const ms of LATE_TRIMS_MS) setTimeout(releaseFreedMemory, ms).unref();
}

/** A daemon's trims are this far apart at least (ms): a client polling every second costs one per interval. */
const MIN_DAEMON_INTERVAL_MS = 5000;

/**
 * For a daemon whose requests leave garbage and fragments behind (pierd after starting 50
 * containers): call it per request; one collection and trim run once no
 * request came for {@link QUIET_MS}, at most every {@link MIN_DAEMON_INTERVAL_MS}. A no-op
 * without the addon.
 */
export function releaseWhenQuiet(): void {
  if (inFlight > 0 || !canReleaseMemory()) return;
  // Postponed to QUIET_MS after this request (not by the whole interval again: a client polling
  // every second must not put it off for ever).
  if (timer) clearTimeout(timer);
  const wait = Math.max(QUIET_MS, lastTrim + MIN_DAEMON_INTERVAL_MS - performance.now());
  timer = setTimeout(trimNow, wait);
  timer.unref();
}

/**
 * Marks the start of a bulk transfer (an upload's body, a blob download); call the returned
 * function with the bytes it moved when it ends, however it ends. Once enough bytes moved, one
 * collection and {@link releaseFreedMemory} run when no transfer has been under way for
 * {@link QUIET_MS}: never in the middle of one (its buffers are live), never per request.
 */
export function bulkTransfer(): (bytes: number) => void {
  if (!canReleaseMemory()) return () => {};
  inFlight++;
  if (timer) {
    clearTimeout(timer);
    timer = undefined;
  }
  let ended = false;
  return (bytes) => {
    if (ended) return;
    ended = true;
    inFlight--;
    pendingBytes += bytes;
    if (inFlight > 0 || pendingBytes < TRIM_AFTER_BYTES) return;
    timer = setTimeout(trimNow, QUIET_MS);
    timer.unref();
  };
}
