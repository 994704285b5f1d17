/**
 * The pod network as the kubelet expects a CRI runtime to find it: the first network
 * configuration in the CNI config directory (`/etc/cni/net.d`), in lexical order of the file
 * names ending `.conflist`, `.conf` or `.json`, as libcni's `ConfFiles` + containerd load it; a
 * single-plugin `.conf` becomes a list of one. Files are read bounded; a file that is not a
 * network configuration is skipped, as libcni skips it.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { CniConflist, CniPluginConf } from "./conflist.js";

/** Where the kubelet's CNI configuration lives by default. */
export const DEFAULT_CNI_CONF_DIR = "/etc/cni/net.d";

/** The largest configuration file read. */
const MAX_CONF_BYTES = 1024 * 1024;

/** The network configuration chosen, or why there is none. */
export type CniConfigChoice = { file: string; conflist: CniConflist } | { missing: string };

function readBounded(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_CONF_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A conflist (or a single `.conf`, wrapped) from JSON text; undefined when it is not one. Pure. */
export function parseCniConfig(text: string, conf: boolean): CniConflist | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.name !== "string" || !o.name) return undefined;
  const version = typeof o.cniVersion === "string" && o.cniVersion ? o.cniVersion : "0.4.0";
  const plugins: unknown[] =
    conf && !Array.isArray(o.plugins) ? [o] : Array.isArray(o.plugins) ? o.plugins : [];
  if (!plugins.length) return undefined;
  for (const p of plugins) {
    const t = (p as Record<string, unknown> | null)?.type;
    if (typeof p !== "object" || p === null || typeof t !== "string" || !/^[a-z0-9_-]+$/i.test(t))
      return undefined;
  }
  return { cniVersion: version, name: o.name, plugins: plugins as CniPluginConf[] };
}

/** The first network configuration of `dir` (see the module comment). */
export function loadCniConfig(dir: string): CniConfigChoice {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    return { missing: `cannot read the CNI config directory ${dir}: ${(err as NodeJS.ErrnoException).code}` };
  }
  for (const name of names) {
    const conf = name.endsWith(".conf") || name.endsWith(".json");
    if (!conf && !name.endsWith(".conflist")) continue;
    const text = readBounded(join(dir, name));
    const conflist = text === undefined ? undefined : parseCniConfig(text, conf);
    if (conflist) return { file: join(dir, name), conflist };
  }
  return { missing: `no network config found in ${dir}` };
}
