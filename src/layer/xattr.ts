/**
 * Extended attributes for whole trees. Node has no xattr API and pier allows no C besides the
 * runtime helper, so pier runs Debian's `attr` tools once per tree, never once per file:
 * `getfattr -R` dumps a tree's attributes in one process when packing, and one
 * `setfattr --restore` sets all of a layer's attributes when applying.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { LayerError } from "./error.js";

/** Attributes of one path: name -> raw value. */
export type Xattrs = Map<string, Buffer>;

const GETFATTR = "/usr/bin/getfattr";
const SETFATTR = "/usr/bin/setfattr";

function requireTool(path: string): string {
  if (!existsSync(path)) {
    throw new LayerError(
      "XATTR_FAILED",
      `${path} is missing: install Debian's attr package (apt-get install -y attr)`,
    );
  }
  return path;
}

/** Undoes getfattr's quoting of file names (`\ooo` octal escapes and `\\`). */
export function unescapeAttrName(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString("latin1", i + 1, i + 4))) {
      bytes.push(Number.parseInt(raw.toString("latin1", i + 1, i + 4), 8));
      i += 3;
    } else if (c === 0x5c && raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i += 1;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Quotes a file or attribute name the way getfattr does, so setfattr reads it back exactly. */
export function escapeAttrName(s: string): string {
  const raw = Buffer.from(s, "utf8");
  let out = "";
  for (const c of raw) {
    if (c < 0x21 || c === 0x5c || c === 0x3d || c === 0x7f || c >= 0x80)
      out += `\\${c.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/**
 * Parses `getfattr --dump -e hex` output into path -> attributes. Pure. Values in hex (`0x…`),
 * base64 (`0s…`) and quoted text are understood.
 */
export function parseGetfattrDump(text: string): Map<string, Xattrs> {
  const out = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      current = new Map();
      out.set(unescapeAttrName(line.slice(8)), current);
      continue;
    }
    if (line === "" || line.startsWith("#") || !current) continue;
    const eq = line.indexOf("=");
    const name = unescapeAttrName(eq === -1 ? line : line.slice(0, eq));
    const v = eq === -1 ? "" : line.slice(eq + 1);
    let value: Buffer;
    if (v.startsWith("0x")) value = Buffer.from(v.slice(2), "hex");
    else if (v.startsWith("0s")) value = Buffer.from(v.slice(2), "base64");
    else if (v.startsWith('"') && v.endsWith('"'))
      value = Buffer.from(unescapeAttrName(v.slice(1, -1)), "utf8");
    else value = Buffer.from(v, "utf8");
    current.set(name, value);
  }
  return out;
}

/** Formats attributes as a `setfattr --restore` file (hex values, escaped names). Pure. */
export function formatRestoreFile(items: Iterable<[string, Xattrs]>): string {
  const parts: string[] = [];
  for (const [path, attrs] of items) {
    if (attrs.size === 0) continue;
    parts.push(`# file: ${escapeAttrName(path)}\n`);
    for (const [name, value] of attrs) parts.push(`${escapeAttrName(name)}=0x${value.toString("hex")}\n`);
    parts.push("\n");
  }
  return parts.join("");
}

/**
 * Every extended attribute under `root` (symlinks not followed), keyed by path relative to
 * `root` (`""` for the root). One `getfattr` process for the whole tree.
 */
export async function readTreeXattrs(root: string): Promise<Map<string, Xattrs>> {
  const tool = requireTool(GETFATTR);
  const text = await new Promise<string>((resolve, reject) => {
    execFile(
      tool,
      ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--", root],
      { maxBuffer: 1 << 30, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new LayerError("XATTR_FAILED", `getfattr on ${root} failed: ${stderr.trim() || err.message}`, {
              cause: err,
            }),
          );
        else resolve(stdout);
      },
    );
  });
  const base = root.replace(/\/+$/, "");
  const out = new Map<string, Xattrs>();
  for (const [abs, attrs] of parseGetfattrDump(text)) {
    const rel = abs === base ? "" : abs.startsWith(`${base}/`) ? abs.slice(base.length + 1) : undefined;
    if (rel !== undefined) out.set(rel, attrs);
  }
  return out;
}

/**
 * Sets attributes on host paths with one `setfattr -h --restore` (symlinks themselves, never
 * their targets). Throws `LayerError` `XATTR_FAILED` with setfattr's message.
 */
export async function restoreXattrs(items: Iterable<[string, Xattrs]>): Promise<void> {
  const text = formatRestoreFile(items);
  if (text === "") return;
  const tool = requireTool(SETFATTR);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(tool, ["-h", "--restore=-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on("error", (err) =>
      reject(new LayerError("XATTR_FAILED", `setfattr: ${err.message}`, { cause: err })),
    );
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new LayerError("XATTR_FAILED", `setfattr --restore failed: ${stderr.trim() || `exit ${code}`}`),
        );
    });
    child.stdin.on("error", () => {
      // reported through the exit status
    });
    child.stdin.end(text);
  });
}
