/**
 * Whether the checkpoint tests can run here: root and a CRIU 4 (as scripts/install-criu.sh
 * installs it), the one check every checkpoint test file makes before it starts.
 */
import { checkCriuVersion, findCriu } from "../runtime/checkpoint/criu-path.js";

/** Why checkpoint tests cannot run here, or undefined when CRIU 4 is usable. */
export async function criuSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root";
  try {
    await checkCriuVersion(findCriu(undefined, process.env));
    return undefined;
  } catch (err) {
    return `CRIU 4 is not installed (${(err as Error).message}); run scripts/install-criu.sh`;
  }
}
