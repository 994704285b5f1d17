/** What both freezer implementations share: the state names and the settle-by-polling loop. */
import { sleep } from "../../common/sleep.js";

/** A cgroup's freezer state; `freezing` is the transient state before every task has stopped. */
export type FreezerState = "frozen" | "thawed" | "freezing";

/** How long freeze and thaw wait for the kernel to settle before giving up. */
export const FREEZE_TIMEOUT_MS = 5000;

/**
 * Calls `check` until it returns true or `timeoutMs` passes (then returns false), sleeping
 * a little longer each round: a freeze usually settles within a millisecond, but a task in an
 * uninterruptible sleep can hold it for much longer. `nudge` runs every few rounds (re-writing
 * the request helps the v1 freezer past tasks that were forking).
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  nudge?: () => Promise<void>,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(1 + round, 20));
    if (nudge && round % 10 === 9) await nudge();
  }
}
