import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { MNT_DETACH, nativeMount, nativeNetns, nativeUnmount } from "./native-mounter.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeTempDir(d);
});

const mounted = (path: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);

test("mounts and unmounts through the resident helper, in order, with the kernel's errors", async () => {
  const tmp = await makeTempDir("pier-mounter-");
  dirs.push(tmp);
  const targets = [0, 1, 2].map((i) => join(tmp, `m${i}`));
  for (const t of targets) mkdirSync(t);
  await Promise.all(targets.map((t) => nativeMount("tmpfs", t, "tmpfs", 0, "size=1m,mode=700")));
  for (const t of targets) assert.ok(mounted(t), `${t} mounted`);
  writeFileSync(join(targets[0]!, "f"), "x");
  await Promise.all(targets.map((t) => nativeUnmount(t)));
  for (const t of targets) assert.ok(!mounted(t), `${t} unmounted`);
  await assert.rejects(nativeUnmount(join(tmp, "never")), /umount .*never: No such file or directory/);
  await assert.rejects(
    nativeMount("none", join(tmp, "m0"), "nosuchfs", 0, ""),
    /mount nosuchfs on .*: No such device/,
  );
  await assert.rejects(nativeMount("tmpfs", join(tmp, "a\tb"), "tmpfs", 0, ""), /tab or newline/);
  await nativeMount("tmpfs", targets[1]!, "tmpfs", 0, "");
  await nativeUnmount(targets[1]!, MNT_DETACH);
  assert.ok(!mounted(targets[1]!));
});

test("a network namespace kept on a file, with only its loopback, up", async () => {
  const tmp = await makeTempDir("pier-netns-");
  dirs.push(tmp);
  const target = join(tmp, "ns");
  writeFileSync(target, "");
  await nativeNetns(target);
  try {
    assert.ok(mounted(target));
    const links = spawnSync("nsenter", [`--net=${target}`, "ip", "-o", "link"], { encoding: "utf8" });
    assert.equal(links.status, 0, links.stderr);
    assert.match(links.stdout, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    assert.equal(links.stdout.trim().split("\n").length, 1, "nothing but lo");
  } finally {
    await nativeUnmount(target, MNT_DETACH);
  }
  await assert.rejects(
    nativeNetns(join(tmp, "missing")),
    /network namespace .*missing: No such file or directory/,
  );
});
