/**
 * Resolution of an image's `Config.User` (`user`, `uid`, `user:group`, `uid:gid`, `user:gid`,
 * `uid:group`) against the image's own `/etc/passwd` and `/etc/group`, with the rules of runc's
 * `user.GetExecUser`, which Docker and containerd use too:
 *
 * - a name must exist in `/etc/passwd`; a number need not (it is taken as is, gid 0);
 * - a user found in `/etc/passwd` brings its primary gid and home;
 * - an explicit group (name or number) replaces the primary gid and adds no supplementary groups;
 * - without a group, the supplementary groups are those of `/etc/group` listing the user's name;
 * - an empty spec means uid 0, looked up the same way.
 *
 * Pure: the caller reads the two files (from inside the rootfs, safely) and passes their text.
 *
 * @example
 * ```ts
 * resolveUser("user", { passwd: "user:x:1000:1000::/home/user:/bin/sh\n", group: "wheel:x:10:user\n" });
 * // { uid: 1000, gid: 1000, additionalGids: [10], home: "/home/user", name: "user" }
 * ```
 */
import { OciError } from "../oci/error.js";

/** The contents of the image's `/etc/passwd` and `/etc/group`, when it has them. */
export interface UserFiles {
  passwd?: string | undefined;
  group?: string | undefined;
}

/** A resolved user. `additionalGids` is empty when none apply. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from `/etc/passwd`, when the user has an entry. */
  home?: string;
  /** Name from `/etc/passwd`, when the user has an entry. */
  name?: string;
}

/** One valid line of `/etc/passwd`. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One valid line of `/etc/group`. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// runc's limits: ids are non-negative int32 values.
const MAX_ID = 2 ** 31 - 1;
const NUMERIC = /^\d+$/;

function toId(s: string): number | undefined {
  if (!NUMERIC.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

function lines(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/**
 * Parses `/etc/passwd`. Lines with a non-numeric or out-of-range uid or gid are skipped (runc
 * would read them as 0, which could make a garbled line root).
 */
export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(text)) {
    const uid = toId(f[2] ?? "");
    const gid = toId(f[3] ?? "");
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? "", shell: f[6] ?? "" });
  }
  return out;
}

/** Parses `/etc/group`. Lines with a non-numeric or out-of-range gid are skipped. */
export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(text)) {
    const gid = toId(f[2] ?? "");
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

function notFound(spec: string, problem: string): never {
  throw new OciError("USER_NOT_FOUND", `Config.User ${JSON.stringify(spec)}: ${problem}`, {
    detail: { user: spec },
  });
}

/**
 * Resolves `Config.User` as described in the module comment. Throws `OciError`
 * `USER_NOT_FOUND` naming the user or group that the image's files do not have, and
 * `INVALID_DOCUMENT` for a malformed spec (more than one `:`, an id above 2^31-1).
 */
export function resolveUser(spec: string, files: UserFiles): ResolvedUser {
  const parts = spec.split(":");
  if (parts.length > 2) {
    throw new OciError("INVALID_DOCUMENT", `Config.User ${JSON.stringify(spec)}: expected user[:group]`);
  }
  const userArg = parts[0]!;
  const groupArg = parts[1] ?? "";
  for (const [what, arg] of [
    ["user", userArg],
    ["group", groupArg],
  ] as const) {
    if (NUMERIC.test(arg) && toId(arg) === undefined) {
      throw new OciError(
        "INVALID_DOCUMENT",
        `Config.User ${JSON.stringify(spec)}: ${what} id ${arg} is out of range`,
      );
    }
  }
  const uidArg = toId(userArg);
  const passwd = parsePasswd(files.passwd);
  const user =
    userArg === ""
      ? passwd.find((u) => u.uid === 0)
      : uidArg !== undefined
        ? passwd.find((u) => u.uid === uidArg)
        : passwd.find((u) => u.name === userArg);

  const out: ResolvedUser = { uid: 0, gid: 0, additionalGids: [] };
  if (user) {
    Object.assign(out, { uid: user.uid, gid: user.gid, home: user.home, name: user.name });
  } else if (userArg !== "") {
    if (uidArg === undefined) {
      notFound(
        spec,
        files.passwd === undefined
          ? `the image has no /etc/passwd to look up user "${userArg}"`
          : `no user "${userArg}" in the image's /etc/passwd`,
      );
    }
    out.uid = uidArg;
  }

  const groups = parseGroup(files.group);
  if (groupArg !== "") {
    const gidArg = toId(groupArg);
    const group =
      gidArg !== undefined ? groups.find((g) => g.gid === gidArg) : groups.find((g) => g.name === groupArg);
    if (group) out.gid = group.gid;
    else if (gidArg !== undefined) out.gid = gidArg;
    else {
      notFound(
        spec,
        files.group === undefined
          ? `the image has no /etc/group to look up group "${groupArg}"`
          : `no group "${groupArg}" in the image's /etc/group`,
      );
    }
  } else if (user) {
    const gids = groups.filter((g) => g.members.includes(user.name)).map((g) => g.gid);
    out.additionalGids = [...new Set(gids)];
  }
  return out;
}
