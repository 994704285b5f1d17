/**
 * Keeps a migrating container's network silent from before its dump until it is removed, when
 * its TCP connections move (`--tcp-established`). After the dump the source's copy of each
 * connection must neither take the peer's packets (it would acknowledge data that its restored
 * copy never sees) nor answer them, and its removal must not send a FIN or RST that ends the
 * connection the target now holds. CRIU locks the network only during the dump and unlocks it
 * when the container is left running, as a migration leaves it until the target runs: this lock
 * lasts, as rules in the container's own network namespace that drop everything in and out.
 * When the migration fails it is lifted before the container is thawed, and the connections go
 * on from the source (the peer retransmits what was dropped).
 */
import { statSync } from "node:fs";
import { EngineError } from "../error.js";
import { deleteRule, insertRule } from "../network/iptables.js";

const RULE = ["-m", "comment", "--comment", "pier migration in progress", "-j", "DROP"];
const CHAINS = ["INPUT", "OUTPUT"] as const;

/** Lifts a {@link silenceNetwork} lock. */
export type NetworkUnlock = () => Promise<void>;

/**
 * Drops all IPv4 traffic in and out of process `pid`'s network namespace until the returned
 * function lifts it; undefined (nothing done) when that namespace is not the container's own:
 * the host's (`--network host`: its connections stay with the host) or another container's
 * (`sharedWith`: silencing it would silence that one too). Throws `CREATE_FAILED` naming
 * iptables' message, with nothing left in place.
 */
export async function silenceNetwork(pid: number, sharedWith: boolean): Promise<NetworkUnlock | undefined> {
  if (sharedWith) return undefined;
  let own: boolean;
  try {
    own = statSync(`/proc/${pid}/ns/net`).ino !== statSync("/proc/self/ns/net").ino;
  } catch (err) {
    throw new EngineError(
      "CREATE_FAILED",
      `cannot find the network of process ${pid}: ${(err as Error).message}`,
    );
  }
  if (!own) return undefined;
  const unlock = async () => {
    for (const chain of CHAINS) await deleteRule("filter", chain, RULE, pid);
  };
  try {
    for (const chain of CHAINS) await insertRule("filter", chain, RULE, pid);
  } catch (err) {
    await unlock().catch(() => {});
    throw new EngineError(
      "CREATE_FAILED",
      `cannot hold the container's network still for the migration of its TCP connections: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return unlock;
}
