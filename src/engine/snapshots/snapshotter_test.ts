import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { appendLayer, createImage } from "../../image/build.js";
import { ImageStore } from "../../image/image-store.js";
import { digestOf } from "../../oci/digest.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import { ImageService } from "../images.js";
import { type LayerSource, overlayAvailable, Snapshotter } from "./snapshotter.js";

async function twoLayerImage(root: string): Promise<LayerSource[]> {
  const store = await ImageStore.open(root);
  const base = await writeBusyboxRootfs(join(root, "base"));
  await writeFile(join(base, "etc", "motd"), "base\n");
  await createImage(store, base, "two:latest");
  const top = join(root, "top");
  await mkdir(join(top, "etc"), { recursive: true });
  await writeFile(join(top, "etc", "motd"), "top\n");
  await appendLayer(store, "two:latest", { dir: top });
  const images = await ImageService.open(root);
  return images.layers(await images.resolve("two:latest"));
}

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);
}

test("overlay: layers unpacked once and shared, each container has its own upper dir", async (t) => {
  assert.ok(overlayAvailable(), "this kernel must offer overlayfs (modprobe overlay)");
  const dir = await makeTempDir("pier-snap-");
  const snaps = new Snapshotter(join(dir, "state"), "overlay");
  t.after(async () => {
    await snaps.remove("c1").catch(() => {});
    await snaps.remove("c2").catch(() => {});
    await removeTempDir(dir);
  });
  const layers = await twoLayerImage(join(dir, "img"));
  const [r1, r2] = await Promise.all([snaps.prepare("c1", layers), snaps.prepare("c2", layers)]);
  assert.equal((await snaps.list()).length, 2, "two layers, one snapshot each, shared by both");
  assert.ok(mounted(r1) && mounted(r2));
  assert.equal(readFileSync(join(r1, "etc", "motd"), "utf8"), "top\n");
  assert.ok(existsSync(join(r1, "bin", "busybox")));
  writeFileSync(join(r1, "only-c1"), "x");
  assert.ok(!existsSync(join(r2, "only-c1")), "writes stay in the container's upper dir");
  assert.ok(existsSync(join(snaps.containerDir("c1"), "upper", "only-c1")));
  await snaps.remove("c1");
  assert.ok(!mounted(r1) && !existsSync(snaps.containerDir("c1")));
  assert.ok(existsSync(join(r2, "bin", "busybox")), "other containers keep their rootfs");
});

test("copy driver applies the layers into the container's own directory", async (t) => {
  const dir = await makeTempDir("pier-snap-");
  t.after(() => removeTempDir(dir));
  const snaps = new Snapshotter(join(dir, "state"), "copy");
  const rootfs = await snaps.prepare("c1", await twoLayerImage(join(dir, "img")));
  assert.equal(readFileSync(join(rootfs, "etc", "motd"), "utf8"), "top\n");
  assert.ok(snaps.isMounted("c1"));
  await snaps.remove("c1");
  assert.ok(!existsSync(snaps.containerDir("c1")));
});

test("a layer with the wrong diff_id leaves no snapshot and no container directory", async (t) => {
  const dir = await makeTempDir("pier-snap-");
  const snaps = new Snapshotter(join(dir, "state"), "overlay");
  t.after(() => removeTempDir(dir));
  const layers = await twoLayerImage(join(dir, "img"));
  const bad = [{ ...layers[0]!, diffId: digestOf("not this") }];
  await assert.rejects(
    snaps.prepare("c1", bad),
    (err: Error & { code?: string }) => err.code === "SNAPSHOT_FAILED",
  );
  assert.deepEqual(await snaps.list(), []);
  assert.ok(!existsSync(snaps.containerDir("c1")));
  assert.throws(() => snaps.containerDir("../x"), /invalid snapshot key/);
});

test("an unpack whose every caller went away stops and leaves nothing; cleanup removes a dead daemon's leftovers", async (t) => {
  const dir = await makeTempDir("pier-snap-");
  const snaps = new Snapshotter(join(dir, "state"), "overlay");
  t.after(() => removeTempDir(dir));
  const layers = await twoLayerImage(join(dir, "img"));
  const first = new AbortController();
  const second = new AbortController();
  const a = snaps.prepare("c1", layers, first.signal);
  const b = snaps.prepare("c2", layers, second.signal);
  // One caller leaving does not stop the unpack the other still waits for.
  first.abort();
  await assert.rejects(a, (err: Error & { code?: string }) => err.code === "SNAPSHOT_FAILED");
  assert.equal(await b, snaps.rootfs("c2"));
  await snaps.remove("c2");
  // Both leave: the shared unpack stops, no snapshot is committed and its temp directory goes.
  const fresh = new Snapshotter(join(dir, "state2"), "overlay");
  const only = new AbortController();
  const c = fresh.prepare("c3", layers, only.signal);
  setTimeout(() => only.abort(), 20);
  await assert.rejects(c, /cancelled/);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await fresh.list(), []);
  assert.deepEqual(readdirSync(join(dir, "state2", "snapshots", "tmp")), []);
  assert.ok(!existsSync(fresh.containerDir("c3")));
  // What a killed pierd left: cleanup() at startup removes it.
  mkdirSync(join(dir, "state2", "snapshots", "tmp", "unpack-dead", "fs", "etc"), { recursive: true });
  assert.deepEqual(await fresh.cleanup(), ["unpack-dead"]);
  assert.deepEqual(readdirSync(join(dir, "state2", "snapshots", "tmp")), []);
});

/** The super-block options of the mount at `path` (the last field of its mountinfo line). */
function superOptions(path: string): string {
  const line = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((l) => l.split(" ")[4] === path);
  assert.ok(line, `${path} is mounted`);
  return line.split(" - ")[1]?.split(" ")[2] ?? "";
}

test("overlay: a disposable container's layer is mounted volatile, any other's is not", async (t) => {
  const dir = await makeTempDir("pier-snap-");
  const snaps = new Snapshotter(join(dir, "state"), "overlay");
  t.after(async () => {
    await snaps.remove("keep").catch(() => {});
    await snaps.remove("rm").catch(() => {});
    await removeTempDir(dir);
  });
  const layers = await twoLayerImage(join(dir, "img"));
  const kept = await snaps.prepare("keep", layers);
  const disposable = await snaps.prepare("rm", layers, undefined, { volatile: true });
  // Linux shows the option as `volatile` (5.10) or `fsync=volatile` (6.x).
  assert.match(superOptions(disposable), /(^|,)(fsync=)?volatile(,|$)/);
  assert.doesNotMatch(superOptions(kept), /volatile/);
  writeFileSync(join(disposable, "written"), "x");
  assert.ok(existsSync(join(snaps.containerDir("rm"), "upper", "written")), "writes land in its upper dir");
  await snaps.remove("rm");
  assert.ok(!mounted(disposable) && !existsSync(snaps.containerDir("rm")), "unmounted and removed");
});

test("remove() takes a container's directory away at once; cleanup() deletes what a killed daemon left in the trash", async (t) => {
  const dir = await makeTempDir("pier-snap-");
  const snaps = new Snapshotter(join(dir, "state"), "copy");
  t.after(() => removeTempDir(dir));
  const layers = await twoLayerImage(join(dir, "img"));
  const rootfs = await snaps.prepare("c1", layers);
  assert.ok(existsSync(join(rootfs, "etc", "motd")));
  await snaps.remove("c1");
  assert.equal(existsSync(snaps.containerDir("c1")), false);
  await snaps.trash.settled();
  assert.deepEqual(readdirSync(join(dir, "state", "trash")), []);
  // A daemon killed before its trash was emptied: the next one's cleanup() deletes it.
  mkdirSync(join(dir, "state", "trash", "c2-0badcafe", "upper"), { recursive: true });
  await new Snapshotter(join(dir, "state"), "copy").cleanup();
  assert.deepEqual(readdirSync(join(dir, "state", "trash")), []);
});
