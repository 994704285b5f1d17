import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { OciError } from "../oci/error.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import {
  parseGroup,
  parsePasswd,
  type ResolvedUser,
  resolveUser,
  type UserFiles,
} from "./bundle-config-user.js";

const passwd = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "app:x:1000:1000:App:/home/app:/bin/sh",
  "second:x:1000:1001::/home/second:/bin/sh", // duplicate uid: the first entry wins
  "garbled:x:abc:0::/:/bin/sh", // non-numeric uid: skipped, never root
  "huge:x:4294967296:0::/:/bin/sh", // out of range: skipped
  "# comment",
  "",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
].join("\n");
const group = [
  "root:x:0:root",
  "daemon:x:1:",
  "wheel:x:10:root,app",
  "audio:x:29:app",
  "app:x:1000:",
  "staff:x:50:other",
  "dup:x:10:app", // same gid again: listed once
  "bad:x:zz:app", // skipped
].join("\n");
const files: UserFiles = { passwd, group };

describe("resolveUser", () => {
  // [Config.User, expected]; every form of config.md: user, uid, user:group, uid:gid, user:gid, uid:group
  const table: [string, ResolvedUser][] = [
    ["", { uid: 0, gid: 0, additionalGids: [0, 10], home: "/root", name: "root" }],
    ["root", { uid: 0, gid: 0, additionalGids: [0, 10], home: "/root", name: "root" }],
    ["app", { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/app", name: "app" }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/app", name: "app" }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [] }],
    ["app:audio", { uid: 1000, gid: 29, additionalGids: [], home: "/home/app", name: "app" }],
    ["app:50", { uid: 1000, gid: 50, additionalGids: [], home: "/home/app", name: "app" }],
    ["app:777", { uid: 1000, gid: 777, additionalGids: [], home: "/home/app", name: "app" }],
    ["1000:1000", { uid: 1000, gid: 1000, additionalGids: [], home: "/home/app", name: "app" }],
    ["4242:4343", { uid: 4242, gid: 4343, additionalGids: [] }],
    ["4242:wheel", { uid: 4242, gid: 10, additionalGids: [] }],
    ["daemon", { uid: 1, gid: 1, additionalGids: [], home: "/usr/sbin", name: "daemon" }],
    ["app:", { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/app", name: "app" }],
  ];
  for (const [spec, expected] of table) {
    it(JSON.stringify(spec), () => assert.deepEqual(resolveUser(spec, files), expected));
  }

  it("takes numbers as they are when the image has no /etc/passwd or /etc/group", () => {
    assert.deepEqual(resolveUser("", {}), { uid: 0, gid: 0, additionalGids: [] });
    assert.deepEqual(resolveUser("5:6", {}), { uid: 5, gid: 6, additionalGids: [] });
  });

  // [Config.User, files, code, message fragment]
  const bad: [string, UserFiles, string, string][] = [
    [
      "missing",
      files,
      "USER_NOT_FOUND",
      'Config.User "missing": no user "missing" in the image\'s /etc/passwd',
    ],
    ["missing:wheel", files, "USER_NOT_FOUND", 'no user "missing"'],
    [
      "app:nogroup",
      files,
      "USER_NOT_FOUND",
      'Config.User "app:nogroup": no group "nogroup" in the image\'s /etc/group',
    ],
    ["1000:nogroup", files, "USER_NOT_FOUND", 'no group "nogroup"'],
    ["app", {}, "USER_NOT_FOUND", 'the image has no /etc/passwd to look up user "app"'],
    ["0:wheel", { passwd }, "USER_NOT_FOUND", 'the image has no /etc/group to look up group "wheel"'],
    ["garbled", files, "USER_NOT_FOUND", 'no user "garbled"'],
    ["a:b:c", files, "INVALID_DOCUMENT", "expected user[:group]"],
    ["4294967296", files, "INVALID_DOCUMENT", "user id 4294967296 is out of range"],
    ["0:99999999999", files, "INVALID_DOCUMENT", "group id 99999999999 is out of range"],
  ];
  for (const [spec, f, code, fragment] of bad) {
    it(`refuses ${JSON.stringify(spec)}${f.passwd === undefined ? " without passwd" : ""}`, () =>
      assert.throws(
        () => resolveUser(spec, f),
        (e: unknown) => e instanceof OciError && e.code === code && e.message.includes(fragment),
      ));
  }

  it("resolves against the busybox fixture's files", async () => {
    const dir = await makeTempDir();
    try {
      await writeBusyboxRootfs(dir);
      const f = {
        passwd: await readFile(join(dir, "etc/passwd"), "utf8"),
        group: await readFile(join(dir, "etc/group"), "utf8"),
      };
      assert.deepEqual(resolveUser("user", f), {
        uid: 1000,
        gid: 1000,
        additionalGids: [10],
        home: "/home/user",
        name: "user",
      });
      assert.deepEqual(resolveUser("nobody:nogroup", f).gid, 65534);
    } finally {
      await removeTempDir(dir);
    }
  });
});

describe("parsePasswd and parseGroup", () => {
  it("skip malformed lines", () => {
    assert.deepEqual(
      parsePasswd(passwd).map((u) => u.name),
      ["root", "daemon", "app", "second", "nobody"],
    );
    assert.deepEqual(parseGroup(group).find((g) => g.name === "wheel")?.members, ["root", "app"]);
    assert.equal(
      parseGroup(group).some((g) => g.name === "bad"),
      false,
    );
    assert.deepEqual(parsePasswd(undefined), []);
  });
});
