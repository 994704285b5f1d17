/**
 * Where an unprivileged user's pier-runtime keeps its state by default, decided from the caller's
 * id and environment (pure, as runc decides it).
 */

/** Default state root of root (runc: `/run/runc`). */
export const ROOT_STATE_ROOT = "/run/pier-runtime";

/**
 * The default `--root`: `/run/pier-runtime` for root; `$XDG_RUNTIME_DIR/pier-runtime` for any
 * other user when the variable is set (as runc picks `$XDG_RUNTIME_DIR/runc`), else the root's
 * default (which then fails with a permission error naming it, as runc's does).
 */
export function defaultStateRoot(euid: number, env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (euid !== 0 && xdg?.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/pier-runtime`;
  return ROOT_STATE_ROOT;
}
