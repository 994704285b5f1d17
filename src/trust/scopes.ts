/**
 * The scopes of a `docker` reference in containers-policy.json(5) and registries.d, most specific
 * first: the full reference, the repository, each parent namespace, the host, then `*.domain`
 * wildcards of the host. Pure.
 */
import type { Reference } from "../oci/reference.js";

/** Scopes of `ref`, most specific first. */
export function dockerScopes(ref: Reference): string[] {
  const out = [ref.toString()];
  const parts = ref.name.split("/");
  for (let i = parts.length; i >= 1; i--) {
    const s = parts.slice(0, i).join("/");
    if (s !== out[out.length - 1]) out.push(s);
  }
  const host = ref.registry.replace(/:\d+$/, "");
  const labels = host.split(".");
  for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join(".")}`);
  return out;
}
