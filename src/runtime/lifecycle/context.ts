/**
 * What every lifecycle verb shares: the state store of one `--root` and where warnings go.
 */
import { defaultStateRoot, runningInUserNamespace } from "../rootless.js";
import { StateStore } from "../state-store.js";

/** Options common to every verb (the runc global flags that matter to the library). */
export interface RuntimeContext {
  store: StateStore;
  /** Receives warnings (poststop hook failures, ignored capabilities…). */
  warn(message: string): void;
  /** `--systemd-cgroup`: cgroupsPath is `slice:prefix:name`; cgroupfs is still what is driven. */
  systemdCgroup?: boolean;
  /**
   * The caller's own cgroups, which a relative `cgroupsPath` is under (as runc: its own cgroup);
   * default this process's. The runtime service sets its caller's.
   */
  ownCgroups?: Record<string, string>;
}

/**
 * A context for `root` (default {@link defaultStateRoot}: `/run/pier-runtime` for root,
 * `$XDG_RUNTIME_DIR/pier-runtime` for other users) that prints warnings to stderr.
 */
export function runtimeContext(
  root: string = defaultStateRoot(process.geteuid?.() ?? 0, process.env, runningInUserNamespace()),
  warn?: (m: string) => void,
): RuntimeContext {
  return { store: new StateStore(root), warn: warn ?? ((m) => process.stderr.write(`WARN: ${m}\n`)) };
}
