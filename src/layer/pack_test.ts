import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  createReadStream,
  createWriteStream,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { pipeline } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { type Digest, DigestStream } from "../oci/digest.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { requireTool } from "../testing/tools.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { packDirectory } from "./pack.js";

const CAP_NET_RAW = "0x0100000200200000000000000000000000000000";

/** A tree with every entry type and attribute a layer carries. */
function buildTree(root: string): void {
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: "pipe" });
  mkdirSync(`${root}/dir/sub`, { recursive: true });
  mkdirSync(`${root}/tmp`);
  chmodSync(`${root}/tmp`, 0o1777);
  mkdirSync(`${root}/setgid`);
  chmodSync(`${root}/setgid`, 0o2750);
  mkdirSync(`${root}/private`, { mode: 0o700 });
  writeFileSync(`${root}/empty`, "");
  writeFileSync(`${root}/dir/small.txt`, "hello layer\n");
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 10)) & 0xff;
  writeFileSync(`${root}/dir/big.bin`, big);
  writeFileSync(`${root}/suid`, "#!/bin/sh\n");
  chmodSync(`${root}/suid`, 0o4755);
  writeFileSync(`${root}/owned`, "owned by 1000\n");
  chownSync(`${root}/owned`, 1000, 1000);
  writeFileSync(`${root}/bigids`, "large ids\n");
  chownSync(`${root}/bigids`, 3_000_000, 3_000_001);
  const longDir = `${root}/${"d".repeat(120)}/${"e".repeat(90)}`;
  mkdirSync(longDir, { recursive: true });
  writeFileSync(`${longDir}/${"f".repeat(100)}`, "long name\n");
  writeFileSync(`${root}/ünïcødé ✓`, "utf-8 name\n");
  symlinkSync("dir/small.txt", `${root}/rel-link`);
  symlinkSync("/etc/passwd", `${root}/abs-link`);
  symlinkSync("does/not/exist", `${root}/dangling`);
  symlinkSync(`../${"t".repeat(150)}`, `${root}/long-target`);
  lchownSync(`${root}/rel-link`, 1000, 1000);
  linkSync(`${root}/dir/small.txt`, `${root}/dir/sub/hard`);
  linkSync(`${root}/dir/small.txt`, `${root}/zz-hard`);
  sh("mkfifo", ["-m", "0640", `${root}/fifo`]);
  sh("mknod", ["-m", "0666", `${root}/null`, "c", "1", "3"]);
  sh("mknod", ["-m", "0660", `${root}/loop`, "b", "7", "200"]);
  sh("setfattr", ["-n", "user.comment", "-v", "hi there", `${root}/dir/small.txt`]);
  sh("setfattr", ["-n", "user.bin", "-v", "0x00ff10", `${root}/dir`]);
  sh("setfattr", ["-n", "security.capability", "-v", CAP_NET_RAW, `${root}/suid`]);
  chmodSync(`${root}/suid`, 0o4755);
  utimesSync(`${root}/empty`, 631152000, 631152000);
  utimesSync(`${root}/dir/big.bin`, 1700000000, 1700000000);
  lutimesSync(`${root}/rel-link`, 1600000000, 1600000000);
}

async function packToFile(root: string, file: string, options = {}): Promise<Digest> {
  const digest = new DigestStream();
  await pipeline(await packDirectory(root, options), digest, createWriteStream(file));
  return digest.digest();
}

describe("pack and apply round trip", () => {
  let work: string;
  let src: string;
  before(async () => {
    requireTool("/usr/bin/getfattr", "attr");
    requireTool("/usr/bin/setfattr", "attr");
    requireTool("/usr/bin/tar", "tar");
    requireTool("/usr/bin/mknod", "coreutils");
    work = await makeTempDir("pier-layer-pack-");
    src = `${work}/src`;
    mkdirSync(src);
    buildTree(src);
  });
  after(async () => {
    await removeTempDir(work);
  });

  it("applies what it packed: every type, mode, owner, mtime, link, device and xattr", async () => {
    const dst = `${work}/dst`;
    mkdirSync(dst);
    const digest = await packToFile(src, `${work}/layer.tar`);
    const stats = await applyLayer(dst, createReadStream(`${work}/layer.tar`), { expectedDiffId: digest });
    assert.equal(stats.diffId, digest);
    assert.equal(stats.hardlinks, 2);
    assert.equal(stats.devices, 3);
    assert.deepEqual(snapshotTree(dst), snapshotTree(src));
    assert.match(
      execFileSync(
        "getfattr",
        ["--absolute-names", "-n", "security.capability", "-e", "hex", `${dst}/suid`],
        { encoding: "utf8" },
      ),
      /0x0100000200200000/,
    );
  });

  it("is reproducible: packing twice gives the same digest, and a fixed mtime hides touch", async () => {
    const a = await packToFile(src, `${work}/a.tar`);
    const b = await packToFile(src, `${work}/b.tar`);
    assert.equal(a, b);
    const fixed1 = await packToFile(src, `${work}/c.tar`, { mtime: 0 });
    utimesSync(`${src}/dir/small.txt`, 1234567890, 1234567890);
    const fixed2 = await packToFile(src, `${work}/d.tar`, { mtime: 0 });
    assert.equal(fixed1, fixed2);
    assert.notEqual(fixed1, a);
  });

  it("writes tar that GNU tar lists and extracts to the same tree", async () => {
    await packToFile(src, `${work}/gnu.tar`);
    const listing = execFileSync("tar", ["-tvf", `${work}/gnu.tar`], { encoding: "utf8" });
    assert.match(listing, /^hrw-r--r-- 0\/0 +0 .* dir\/sub\/hard link to dir\/small\.txt$/m);
    assert.match(listing, /^crw-rw-rw- 0\/0 +1,3 .* null$/m);
    assert.match(listing, /^brw-rw---- 0\/0 +7,200 .* loop$/m);
    assert.match(listing, /^prw-r----- /m);
    assert.match(listing, /^-rwsr-xr-x /m);
    assert.match(listing, / 3000000\/3000001 /);
    assert.match(listing, new RegExp(`${"f".repeat(100)}$`, "m"));
    assert.match(listing, /^drwxrwxrwt .* tmp\/$/m);
    const out = `${work}/gnu-out`;
    mkdirSync(out);
    execFileSync("tar", [
      "--xattrs",
      "--xattrs-include=*",
      "--same-owner",
      "--numeric-owner",
      "-xpf",
      `${work}/gnu.tar`,
      "-C",
      out,
    ]);
    assert.deepEqual(snapshotTree(out), snapshotTree(src));
  });

  it("applies layers that GNU tar wrote, in gnu and posix formats", async () => {
    for (const format of ["gnu", "posix"]) {
      const file = `${work}/by-gnu-${format}.tar`;
      const args = format === "posix" ? ["--xattrs", "--xattrs-include=*"] : [];
      execFileSync("tar", [`--format=${format}`, ...args, "--numeric-owner", "-cf", file, "-C", src, "."]);
      const dst = `${work}/from-gnu-${format}`;
      mkdirSync(dst);
      await applyLayer(dst, createReadStream(file));
      assert.deepEqual(
        snapshotTree(dst, { xattrs: format === "posix" }),
        snapshotTree(src, { xattrs: format === "posix" }),
        format,
      );
    }
  });
});
