/** cgroup v1 `freezer` controller: `freezer.state` FROZEN/THAWED, polled until settled. */
import { CgroupError } from "../error.js";
import { FREEZE_TIMEOUT_MS, type FreezerState, pollUntil } from "../freezer.js";
import { readCgroupFile, writeCgroupFile } from "../fs.js";

/** Reads the v1 freezer state of `dir`. */
export async function readV1FreezerState(dir: string): Promise<FreezerState> {
  const s = (await readCgroupFile(dir, "freezer.state")).trim();
  if (s === "FROZEN") return "frozen";
  if (s === "FREEZING") return "freezing";
  return "thawed";
}

/**
 * Freezes (or thaws) every task of `dir` and returns once the kernel reports the state
 * settled. A freeze that does not settle within the timeout is undone and reported as
 * `FREEZE_TIMEOUT`, so the cgroup is never left half-frozen.
 */
export async function setV1Freezer(
  dir: string,
  frozen: boolean,
  timeoutMs = FREEZE_TIMEOUT_MS,
): Promise<void> {
  const want = frozen ? "FROZEN" : "THAWED";
  await writeCgroupFile(dir, "freezer.state", want);
  const settled = await pollUntil(
    async () => (await readV1FreezerState(dir)) === (frozen ? "frozen" : "thawed"),
    timeoutMs,
    () => writeCgroupFile(dir, "freezer.state", want),
  );
  if (settled) return;
  if (frozen) await writeCgroupFile(dir, "freezer.state", "THAWED");
  throw new CgroupError("FREEZE_TIMEOUT", `${dir}: freezer did not reach ${want} within ${timeoutMs} ms`);
}
