/**
 * Rootless operation, decided as runc decides it: pier-runtime is "rootless" when its effective
 * uid is not 0 OR it runs inside a user namespace that is not the initial one (rootless podman
 * runs the runtime as uid 0 of its own user namespace, without host privileges). Rootless means:
 * state under `$XDG_RUNTIME_DIR`, cgroups used only where delegated, devices bound from the host
 * instead of created. Pure, except {@link runningInUserNamespace}, which reads /proc.
 */
import { readFileSync } from "node:fs";

/** Default state root of root (runc: `/run/runc`). */
export const ROOT_STATE_ROOT = "/run/pier-runtime";

/** True unless `/proc/self/uid_map` text is the initial namespace's identity map. */
export function uidMapIsNested(uidMap: string): boolean {
  const lines = uidMap.trim().split("\n");
  const f = lines[0]?.trim().split(/\s+/) ?? [];
  return !(lines.length === 1 && f[0] === "0" && f[1] === "0" && f[2] === "4294967295");
}

let nested: boolean | undefined;

/** True when this process runs in a user namespace other than the initial one (cached). */
export function runningInUserNamespace(): boolean {
  if (nested === undefined) {
    try {
      nested = uidMapIsNested(readFileSync("/proc/self/uid_map", "utf8"));
    } catch {
      nested = false;
    }
  }
  return nested;
}

/** True when the runtime must behave rootless (see the module doc). */
export function isRootless(euid: number, inUserNs: boolean): boolean {
  return euid !== 0 || inUserNs;
}

/**
 * The default `--root`: `$XDG_RUNTIME_DIR/pier-runtime` when the caller is not root, or is root
 * of a nested user namespace and not the user "root" (runc's `shouldHonorXDGRuntimeDir`, which
 * rootless podman relies on); else `/run/pier-runtime`.
 */
export function defaultStateRoot(
  euid: number,
  env: Readonly<Record<string, string | undefined>>,
  inUserNs = false,
): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (!xdg?.startsWith("/")) return ROOT_STATE_ROOT;
  const honor = euid !== 0 || (inUserNs && env.USER !== "root");
  return honor ? `${xdg.replace(/\/+$/, "")}/pier-runtime` : ROOT_STATE_ROOT;
}
