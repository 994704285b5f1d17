/**
 * Test support (not library API): the unprivileged user that rootless tests run as, with ranges
 * in /etc/subuid and /etc/subgid for newuidmap/newgidmap. Created once and kept between runs
 * (removing users races other tests' lookups).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { requireTool } from "./runtime.js";

/** The test user's name. */
export const ROOTLESS_USER = "pier-rootless";
/** Size of the user's subordinate id ranges. */
export const SUB_SIZE = 65536;
const SUB_START = 500000;

/** The test user's ids and the first ids of its subordinate ranges. */
export interface RootlessUser {
  uid: number;
  gid: number;
  subUid: number;
  subGid: number;
}

function subStart(file: string): number {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${ROOTLESS_USER}:`));
  return Number(line?.split(":")[1]);
}

/** Creates the user and its /etc/subuid, /etc/subgid entries when missing; fails without uidmap. */
export function ensureRootlessUser(): RootlessUser {
  requireTool("newuidmap", "uidmap");
  requireTool("newgidmap", "uidmap");
  if (spawnSync("id", ["-u", ROOTLESS_USER]).status !== 0) {
    const r = spawnSync(
      requireTool("useradd", "passwd"),
      ["--no-create-home", "-s", "/bin/sh", ROOTLESS_USER],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
  }
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (!text.split("\n").some((l) => l.startsWith(`${ROOTLESS_USER}:`)))
      writeFileSync(
        file,
        `${text}${text && !text.endsWith("\n") ? "\n" : ""}${ROOTLESS_USER}:${SUB_START}:${SUB_SIZE}\n`,
      );
  }
  return {
    uid: Number(spawnSync("id", ["-u", ROOTLESS_USER], { encoding: "utf8" }).stdout.trim()),
    gid: Number(spawnSync("id", ["-g", ROOTLESS_USER], { encoding: "utf8" }).stdout.trim()),
    subUid: subStart("/etc/subuid"),
    subGid: subStart("/etc/subgid"),
  };
}
