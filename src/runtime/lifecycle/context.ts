/**
 * What every lifecycle verb shares: the state store of one `--root` and where warnings go.
 */
import { DEFAULT_STATE_ROOT, StateStore } from "../state-store.js";

/** Options common to every verb (the runc global flags that matter to the library). */
export interface RuntimeContext {
  store: StateStore;
  /** Receives warnings (poststop hook failures, ignored capabilities…). */
  warn(message: string): void;
  /** `--systemd-cgroup`: cgroupsPath is `slice:prefix:name`; cgroupfs is still what is driven. */
  systemdCgroup?: boolean;
}

/** A context for `root` (default {@link DEFAULT_STATE_ROOT}) that prints warnings to stderr. */
export function runtimeContext(
  root: string = DEFAULT_STATE_ROOT,
  warn?: (m: string) => void,
): RuntimeContext {
  return { store: new StateStore(root), warn: warn ?? ((m) => process.stderr.write(`WARN: ${m}\n`)) };
}
