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
import { parseExactJson } from "../exact-json.js";
import { NAMESPACE_TYPES, type NamespaceType, type Spec } from "./config.js";
import { invalidAt, linuxIdAt, MAX_LINUX_ID, MAX_PROCESS_ID, objectAt, stringAt } from "./json-checks.js";
import { validateLinuxResources } from "./resources.js";
import { SECCOMP_VALUE_KEYS, validateLinuxSeccomp } from "./seccomp.js";

type Obj = Record<string, unknown>;

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
  if (v === undefined || v === null) invalidAt(join(p, key), "is required");
  return check(v, join(p, key));
}

const bool = (v: unknown, p: string): boolean =>
  typeof v === "boolean" ? v : invalidAt(p, "must be a boolean");
const int = (v: unknown, p: string): number =>
  Number.isSafeInteger(v) ? (v as number) : invalidAt(p, "must be an integer");
const uint = (v: unknown, p: string): number =>
  Number.isSafeInteger(v) && (v as number) >= 0
    ? (v as number)
    : invalidAt(p, "must be a non-negative integer");
// rlimits may be up to 2^64-1 (RLIM_INFINITY); JSON numbers above 2^53 lose precision but stay >= 0.
const u64 = (v: unknown, p: string): number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 && Number.isInteger(v)
    ? v
    : invalidAt(p, "must be a non-negative integer");

const processId = (v: unknown, p: string): number => linuxIdAt(v, p, MAX_PROCESS_ID);

function arr<T>(check: (v: unknown, p: string) => T) {
  return (v: unknown, p: string): T[] => {
    if (!Array.isArray(v)) invalidAt(p, "must be an array");
    return v.map((e, i) => check(e, `${p}[${i}]`));
  };
}

function strMap(v: unknown, p: string): Record<string, string> {
  const o = objectAt(v, p);
  for (const [k, val] of Object.entries(o)) stringAt(val, `${p}.${k}`);
  return o as Record<string, string>;
}

function absolute(v: unknown, p: string): string {
  const s = stringAt(v, p);
  if (!s.startsWith("/")) invalidAt(p, "must be absolute");
  return s;
}

function envEntry(v: unknown, p: string): string {
  const s = stringAt(v, p);
  if (!s.includes("=") || s.startsWith("=")) invalidAt(p, `must be KEY=VALUE, got ${JSON.stringify(s)}`);
  if (s.includes("\0")) invalidAt(p, "must not contain NUL");
  return s;
}

function idMapping(v: unknown, p: string): void {
  const o = objectAt(v, p);
  const containerID = req(o, "containerID", p, linuxIdAt);
  const hostID = req(o, "hostID", p, linuxIdAt);
  const size = req(o, "size", p, uint);
  if (size === 0) invalidAt(`${p}.size`, "must be at least 1");
  // The kernel refuses a range whose end wraps past 2^32-1; so does the last id being (uid_t)-1.
  for (const [name, first] of [
    ["containerID", containerID],
    ["hostID", hostID],
  ] as const) {
    if (first + size - 1 > MAX_LINUX_ID)
      invalidAt(`${p}.size`, `${name} + size must be at most ${MAX_LINUX_ID + 1}, got ${first + size}`);
  }
}

function hook(v: unknown, p: string): void {
  const o = objectAt(v, p);
  req(o, "path", p, absolute);
  opt(o, "args", p, arr(stringAt));
  opt(o, "env", p, arr(envEntry));
  const t = opt(o, "timeout", p, int);
  if (t !== undefined && t <= 0) invalidAt(`${p}.timeout`, "must be greater than zero");
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
  const o = objectAt(v, p);
  opt(o, "terminal", p, bool);
  opt(o, "consoleSize", p, (c, cp) => {
    const co = objectAt(c, cp);
    req(co, "height", cp, uint);
    req(co, "width", cp, uint);
  });
  req(o, "user", p, (u, up) => {
    const uo = objectAt(u, up);
    req(uo, "uid", up, processId);
    req(uo, "gid", up, processId);
    opt(uo, "umask", up, uint);
    opt(uo, "additionalGids", up, arr(processId));
    opt(uo, "username", up, stringAt);
  });
  const args = opt(o, "args", p, arr(stringAt));
  if (args !== undefined && args.length === 0) invalidAt(`${p}.args`, "must not be empty");
  opt(o, "commandLine", p, stringAt);
  opt(o, "env", p, arr(envEntry));
  req(o, "cwd", p, absolute);
  opt(o, "capabilities", p, (c, cp) => {
    const co = objectAt(c, cp);
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) {
      opt(
        co,
        set,
        cp,
        arr((n, np) => {
          const s = stringAt(n, np);
          if (!/^CAP_[A-Z_]+$/.test(s)) invalidAt(np, `not a capability name: ${JSON.stringify(s)}`);
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
      const ro = objectAt(r, rp);
      const type = req(ro, "type", rp, stringAt);
      if (!/^RLIMIT_[A-Z]+$/.test(type)) invalidAt(`${rp}.type`, `not an rlimit: ${JSON.stringify(type)}`);
      req(ro, "soft", rp, u64);
      req(ro, "hard", rp, u64);
    }),
  );
  opt(o, "noNewPrivileges", p, bool);
  opt(o, "apparmorProfile", p, stringAt);
  const oom = opt(o, "oomScoreAdj", p, int);
  if (oom !== undefined && (oom < -1000 || oom > 1000))
    invalidAt(`${p}.oomScoreAdj`, "must be between -1000 and 1000");
  opt(o, "selinuxLabel", p, stringAt);
}

function linuxField(v: unknown, p: string): void {
  const o = objectAt(v, p);
  const seen = new Set<string>();
  opt(
    o,
    "namespaces",
    p,
    arr((n, np) => {
      const no = objectAt(n, np);
      const type = req(no, "type", np, stringAt);
      if (!NAMESPACE_TYPES.includes(type as NamespaceType))
        invalidAt(`${np}.type`, `unknown namespace type ${JSON.stringify(type)}`);
      if (seen.has(type)) invalidAt(`${np}.type`, `duplicate namespace ${JSON.stringify(type)}`);
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
      const dob = objectAt(d, dp);
      const type = req(dob, "type", dp, stringAt);
      if (!["c", "b", "u", "p"].includes(type))
        invalidAt(`${dp}.type`, `must be one of c, b, u, p; got ${JSON.stringify(type)}`);
      req(dob, "path", dp, absolute);
      if (type !== "p") {
        req(dob, "major", dp, int);
        req(dob, "minor", dp, int);
      } else {
        opt(dob, "major", dp, int);
        opt(dob, "minor", dp, int);
      }
      opt(dob, "fileMode", dp, uint);
      opt(dob, "uid", dp, linuxIdAt);
      opt(dob, "gid", dp, linuxIdAt);
    }),
  );
  opt(o, "cgroupsPath", p, stringAt);
  opt(o, "resources", p, (v, vp) => validateLinuxResources(v, vp));
  const prop = opt(o, "rootfsPropagation", p, stringAt);
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
    invalidAt(`${p}.rootfsPropagation`, `unknown propagation ${JSON.stringify(prop)}`);
  }
  opt(o, "seccomp", p, (v, vp) => validateLinuxSeccomp(v, vp));
  opt(o, "sysctl", p, strMap);
  opt(o, "maskedPaths", p, arr(absolute));
  opt(o, "readonlyPaths", p, arr(absolute));
  opt(o, "mountLabel", p, stringAt);
  opt(o, "timeOffsets", p, objectAt);
  opt(o, "personality", p, (v, vp) => {
    const po = objectAt(v, vp);
    const domain = req(po, "domain", vp, stringAt);
    if (domain !== "LINUX" && domain !== "LINUX32")
      invalidAt(`${vp}.domain`, `must be LINUX or LINUX32; got ${JSON.stringify(domain)}`);
    opt(po, "flags", vp, arr(stringAt));
  });
  // config-linux.md "Network Devices": interface name -> { name?: string }.
  opt(o, "netDevices", p, (v, vp) => {
    for (const [key, dev] of Object.entries(objectAt(v, vp)))
      opt(objectAt(dev, join(vp, key)), "name", join(vp, key), stringAt);
  });
}

// semver.org's regular expression for SemVer 2.0.0.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** config.md: `ociVersion` "MUST be in SemVer v2.0.0 format"; this implements the 1.x line. */
function ociVersion(v: unknown, p: string): string {
  const s = stringAt(v, p);
  const m = SEMVER.exec(s);
  if (!m) invalidAt(p, `not a SemVer 2.0.0 version: ${JSON.stringify(s)}`);
  if (m[1] !== "1") invalidAt(p, `unsupported version ${JSON.stringify(s)}: this runtime implements 1.x`);
  return s;
}

/** Validates a parsed `config.json` value in place and returns it typed; throws `INVALID_DOCUMENT`. */
export function validateSpec(value: unknown): Spec {
  const o = objectAt(value, "config.json");
  const p = "";
  req(o, "ociVersion", p, ociVersion);
  opt(o, "process", p, processField);
  opt(o, "root", p, (r, rp) => {
    const ro = objectAt(r, rp);
    req(ro, "path", rp, stringAt);
    opt(ro, "readonly", rp, bool);
  });
  opt(o, "hostname", p, stringAt);
  opt(o, "domainname", p, stringAt);
  opt(
    o,
    "mounts",
    p,
    arr((m, mp) => {
      const mo = objectAt(m, mp);
      req(mo, "destination", mp, absolute);
      opt(mo, "type", mp, stringAt);
      opt(mo, "source", mp, stringAt);
      opt(mo, "options", mp, arr(stringAt));
      opt(mo, "uidMappings", mp, arr(idMapping));
      opt(mo, "gidMappings", mp, arr(idMapping));
    }),
  );
  opt(o, "hooks", p, (h, hp) => {
    const ho = objectAt(h, hp);
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
    // A seccomp argument value is a uint64: kept exact beyond 2^53 (a JS number would round it).
    value = parseExactJson(
      typeof text === "string" ? text : Buffer.from(text).toString("utf8"),
      SECCOMP_VALUE_KEYS,
    );
  } catch (err) {
    throw new OciError("INVALID_JSON", `config.json: ${(err as Error).message}`, { cause: err });
  }
  return validateSpec(value);
}
