/**
 * A timer as a promise, without `node:timers/promises`: that module (and `node:fs/promises`)
 * is not loaded by a bare Node.js start, and the runtime service's first command after a cold
 * start paid for loading them (1.3 ms of CPU together, measured alternated against `node -e 0`)
 * only for a sleep on a retry path.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
