/** cgroup v2 freezer: `cgroup.freeze`, settled when `cgroup.events` says `frozen 1`. */
import { CgroupError } from "../error.js";
import { FREEZE_TIMEOUT_MS, type FreezerState, pollUntil } from "../freezer.js";
import { parseFlatKeyed, readCgroupFile, readOptional, writeCgroupFile } from "../fs.js";

/** Reads the v2 freezer state: requested (`cgroup.freeze`) and reached (`cgroup.events`). */
export async function readV2FreezerState(dir: string): Promise<FreezerState> {
  const wanted = (await readOptional(dir, "cgroup.freeze"))?.trim();
  if (wanted === undefined) {
    throw new CgroupError("UNSUPPORTED", "this kernel has no cgroup v2 freezer (cgroup.freeze, Linux 5.2+)");
  }
  const frozen = parseFlatKeyed(await readCgroupFile(dir, "cgroup.events")).frozen === 1;
  if (wanted === "1") return frozen ? "frozen" : "freezing";
  return "thawed";
}

/**
 * Freezes or thaws `dir` and waits until the kernel reports it. A freeze that does not settle
 * is undone and reported as `FREEZE_TIMEOUT`.
 */
export async function setV2Freezer(
  dir: string,
  frozen: boolean,
  timeoutMs = FREEZE_TIMEOUT_MS,
): Promise<void> {
  await readV2FreezerState(dir);
  await writeCgroupFile(dir, "cgroup.freeze", frozen ? "1" : "0");
  const want: FreezerState = frozen ? "frozen" : "thawed";
  if (await pollUntil(async () => (await readV2FreezerState(dir)) === want, timeoutMs)) return;
  if (frozen) await writeCgroupFile(dir, "cgroup.freeze", "0");
  throw new CgroupError("FREEZE_TIMEOUT", `${dir}: freezer did not reach ${want} within ${timeoutMs} ms`);
}
