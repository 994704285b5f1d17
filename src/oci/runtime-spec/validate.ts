/**
 * Validation of an untrusted runtime `config.json` into {@link Spec}.
 *
 * Errors are {@link OciError} `INVALID_DOCUMENT` whose message starts with the path of the
 * offending field, as in `linux.mounts[3].destination: must be absolute` — what runc users expect
 * to read. Unknown fields are kept (the spec says to ignore them); JSON `null` on an optional field
 * reads as absent. Only shape and spec rules are checked here; whether the host can do it (a
 * missing rootfs, an unknown capability) is checked by the runtime when it plans.
 */
import { OciError } from "../error.js";
import { NAMESPACE_TYPES, type NamespaceType, type Spec } from "./config.js";
import { validateLinuxResources } from "./resources.js";
import { validateLinuxSeccomp } from "./seccomp.js";

type Obj = Record<string, unknown>;

function invalid(path: string, problem: string): never {
  throw new OciError("INVALID_DOCUMENT", `${path}: ${problem}`, { detail: { path } });
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(v: unknown, p: string): Obj {
  return isObj(v) ? v : invalid(p, "must be an object");
}

function join(p: string, key: string): string {
  return p === "" ? key : `${p}.${key}`;
}

function opt<T>(o: Obj, key: string, p: string, check: (v: unknown, p: string) => T): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    delete o[key];
    return undefined;
  }
  return check(v, join(p, key));
}

function req<T>(o: Obj, key: string, p: string, check: (v: unknown, p: string) => T): T {
  const v = o[key];
  if (v === undefined || v === null) invalid(join(p, key), "is required");
  return check(v, join(p, key));
}

const str = (v: unknown, p: string): string => (typeof v === "string" ? v : invalid(p, "must be a string"));
const bool = (v: unknown, p: string): boolean =>
  typeof v === "boolean" ? v : invalid(p, "must be a boolean");
const int = (v: unknown, p: string): number =>
  Number.isSafeInteger(v) ? (v as number) : invalid(p, "must be an integer");
const uint = (v: unknown, p: string): number =>
  Number.isSafeInteger(v) && (v as number) >= 0
    ? (v as number)
    : invalid(p, "must be a non-negative integer");
// rlimits may be up to 2^64-1 (RLIM_INFINITY); JSON numbers above 2^53 lose precision but stay >= 0.
const u64 = (v: unknown, p: string): number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 && Number.isInteger(v)
    ? v
    : invalid(p, "must be a non-negative integer");

function arr<T>(check: (v: unknown, p: string) => T) {
  return (v: unknown, p: string): T[] => {
    if (!Array.isArray(v)) invalid(p, "must be an array");
    return v.map((e, i) => check(e, `${p}[${i}]`));
  };
}

function strMap(v: unknown, p: string): Record<string, string> {
  const o = obj(v, p);
  for (const [k, val] of Object.entries(o)) str(val, `${p}.${k}`);
  return o as Record<string, string>;
}

function absolute(v: unknown, p: string): string {
  const s = str(v, p);
  if (!s.startsWith("/")) invalid(p, "must be absolute");
  return s;
}

function envEntry(v: unknown, p: string): string {
  const s = str(v, p);
  if (!s.includes("=") || s.startsWith("=")) invalid(p, `must be KEY=VALUE, got ${JSON.stringify(s)}`);
  if (s.includes("\0")) invalid(p, "must not contain NUL");
  return s;
}

function idMapping(v: unknown, p: string): void {
  const o = obj(v, p);
  req(o, "containerID", p, uint);
  req(o, "hostID", p, uint);
  const size = req(o, "size", p, uint);
  if (size === 0) invalid(`${p}.size`, "must be at least 1");
}

function hook(v: unknown, p: string): void {
  const o = obj(v, p);
  req(o, "path", p, absolute);
  opt(o, "args", p, arr(str));
  opt(o, "env", p, arr(envEntry));
  const t = opt(o, "timeout", p, int);
  if (t !== undefined && t <= 0) invalid(`${p}.timeout`, "must be greater than zero");
}

const HOOK_KINDS = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
];

function processField(v: unknown, p: string): void {
  const o = obj(v, p);
  opt(o, "terminal", p, bool);
  opt(o, "consoleSize", p, (c, cp) => {
    const co = obj(c, cp);
    req(co, "height", cp, uint);
    req(co, "width", cp, uint);
  });
  req(o, "user", p, (u, up) => {
    const uo = obj(u, up);
    req(uo, "uid", up, uint);
    req(uo, "gid", up, uint);
    opt(uo, "umask", up, uint);
    opt(uo, "additionalGids", up, arr(uint));
    opt(uo, "username", up, str);
  });
  const args = opt(o, "args", p, arr(str));
  if (args !== undefined && args.length === 0) invalid(`${p}.args`, "must not be empty");
  opt(o, "commandLine", p, str);
  opt(o, "env", p, arr(envEntry));
  req(o, "cwd", p, absolute);
  opt(o, "capabilities", p, (c, cp) => {
    const co = obj(c, cp);
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) {
      opt(
        co,
        set,
        cp,
        arr((n, np) => {
          const s = str(n, np);
          if (!/^CAP_[A-Z_]+$/.test(s)) invalid(np, `not a capability name: ${JSON.stringify(s)}`);
          return s;
        }),
      );
    }
  });
  opt(
    o,
    "rlimits",
    p,
    arr((r, rp) => {
      const ro = obj(r, rp);
      const type = req(ro, "type", rp, str);
      if (!/^RLIMIT_[A-Z]+$/.test(type)) invalid(`${rp}.type`, `not an rlimit: ${JSON.stringify(type)}`);
      req(ro, "soft", rp, u64);
      req(ro, "hard", rp, u64);
    }),
  );
  opt(o, "noNewPrivileges", p, bool);
  opt(o, "apparmorProfile", p, str);
  const oom = opt(o, "oomScoreAdj", p, int);
  if (oom !== undefined && (oom < -1000 || oom > 1000))
    invalid(`${p}.oomScoreAdj`, "must be between -1000 and 1000");
  opt(o, "selinuxLabel", p, str);
}

function linuxField(v: unknown, p: string): void {
  const o = obj(v, p);
  const seen = new Set<string>();
  opt(
    o,
    "namespaces",
    p,
    arr((n, np) => {
      const no = obj(n, np);
      const type = req(no, "type", np, str);
      if (!NAMESPACE_TYPES.includes(type as NamespaceType))
        invalid(`${np}.type`, `unknown namespace type ${JSON.stringify(type)}`);
      if (seen.has(type)) invalid(`${np}.type`, `duplicate namespace ${JSON.stringify(type)}`);
      seen.add(type);
      opt(no, "path", np, absolute);
    }),
  );
  opt(o, "uidMappings", p, arr(idMapping));
  opt(o, "gidMappings", p, arr(idMapping));
  opt(
    o,
    "devices",
    p,
    arr((d, dp) => {
      const dob = obj(d, dp);
      const type = req(dob, "type", dp, str);
      if (!["c", "b", "u", "p"].includes(type))
        invalid(`${dp}.type`, `must be one of c, b, u, p; got ${JSON.stringify(type)}`);
      req(dob, "path", dp, absolute);
      if (type !== "p") {
        req(dob, "major", dp, int);
        req(dob, "minor", dp, int);
      } else {
        opt(dob, "major", dp, int);
        opt(dob, "minor", dp, int);
      }
      opt(dob, "fileMode", dp, uint);
      opt(dob, "uid", dp, uint);
      opt(dob, "gid", dp, uint);
    }),
  );
  opt(o, "cgroupsPath", p, str);
  opt(o, "resources", p, (v, vp) => validateLinuxResources(v, vp));
  const prop = opt(o, "rootfsPropagation", p, str);
  if (
    prop !== undefined &&
    ![
      "private",
      "shared",
      "slave",
      "unbindable",
      "rprivate",
      "rshared",
      "rslave",
      "runbindable",
      "",
    ].includes(prop)
  ) {
    invalid(`${p}.rootfsPropagation`, `unknown propagation ${JSON.stringify(prop)}`);
  }
  opt(o, "seccomp", p, (v, vp) => validateLinuxSeccomp(v, vp));
  opt(o, "sysctl", p, strMap);
  opt(o, "maskedPaths", p, arr(absolute));
  opt(o, "readonlyPaths", p, arr(absolute));
  opt(o, "mountLabel", p, str);
  opt(o, "timeOffsets", p, obj);
}

/** Validates a parsed `config.json` value in place and returns it typed; throws `INVALID_DOCUMENT`. */
export function validateSpec(value: unknown): Spec {
  const o = obj(value, "config.json");
  const p = "";
  req(o, "ociVersion", p, str);
  opt(o, "process", p, processField);
  opt(o, "root", p, (r, rp) => {
    const ro = obj(r, rp);
    req(ro, "path", rp, str);
    opt(ro, "readonly", rp, bool);
  });
  opt(o, "hostname", p, str);
  opt(o, "domainname", p, str);
  opt(
    o,
    "mounts",
    p,
    arr((m, mp) => {
      const mo = obj(m, mp);
      req(mo, "destination", mp, absolute);
      opt(mo, "type", mp, str);
      opt(mo, "source", mp, str);
      opt(mo, "options", mp, arr(str));
      opt(mo, "uidMappings", mp, arr(idMapping));
      opt(mo, "gidMappings", mp, arr(idMapping));
    }),
  );
  opt(o, "hooks", p, (h, hp) => {
    const ho = obj(h, hp);
    for (const kind of HOOK_KINDS) opt(ho, kind, hp, arr(hook));
  });
  opt(o, "annotations", p, strMap);
  opt(o, "linux", p, linuxField);
  return o as unknown as Spec;
}

/** Parses and validates `config.json` text; JSON syntax errors are `INVALID_JSON`. */
export function parseSpec(text: string | Uint8Array): Spec {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === "string" ? text : Buffer.from(text).toString("utf8"));
  } catch (err) {
    throw new OciError("INVALID_JSON", `config.json: ${(err as Error).message}`, { cause: err });
  }
  return validateSpec(value);
}
