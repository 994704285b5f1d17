/**
 * The further docker verbs through the stock docker CLI and `pier` against a real pierd: top,
 * rename, diff, cp both ways (running and stopped, with hostile paths and tars), export, commit
 * with --change, import, history, save/load (a bad archive leaves nothing), create, port and
 * logs --details.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { packDirectory } from "../../layer/index.js";
import {
  type BusyboxRegistry,
  docker,
  pier,
  runCommand,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { tarOf } from "../../testing/layer-tar.js";
import { socketRequest } from "../../testing/socket-request.js";
import { containerPath, goFileMode } from "../container-files.js";
import { parseTop, procsFiles } from "../container-top.js";
import { historyRows } from "../image-archives.js";
import { applyChanges } from "../image-changes.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await docker(d, args, input === undefined ? {} : { input });
  assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function pierOk(args: string[]): Promise<string> {
  const r = await pier(d, args);
  assert.equal(r.status, 0, `pier ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** A raw request to the Docker socket with a buffer body. */
const raw = (method: string, path: string, body?: Buffer) =>
  socketRequest(d.dockerSocket, method, path, body);

async function runDetached(name: string, ...cmd: string[]): Promise<string> {
  return (
    await ok(["run", "-d", "--name", name, reg.image, ...(cmd.length ? cmd : ["sleep", "600"])])
  ).trim();
}

/** A scratch directory of the test daemon's (removed with it). */
function scratch(name: string): string {
  const dir = join(d.dir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

test("pure parts: container paths, Go file modes, ps parsing, cgroup files, --change, history rows", () => {
  assert.equal(containerPath("etc/../../x"), "/x");
  assert.equal(containerPath("/a/b/"), "/a/b/");
  assert.equal(containerPath("/a/b/."), "/a/b/.");
  assert.equal(containerPath("../../.."), "/");
  assert.throws(() => containerPath("a\0b"), /NUL/);
  assert.equal(goFileMode({ mode: 0o040755 }), 2 ** 31 + 0o755);
  assert.equal(goFileMode({ mode: 0o120777 }), 2 ** 27 + 0o777);
  assert.equal(goFileMode({ mode: 0o104755 }), 2 ** 23 + 0o755);
  const top = parseTop("UID PID PPID CMD\nroot 10 1 sleep 600\nroot 11 1 other thing\n", new Set([10]));
  assert.deepEqual(top, {
    Titles: ["UID", "PID", "PPID", "CMD"],
    Processes: [["root", "10", "1", "sleep 600"]],
  });
  assert.throws(() => parseTop("USER CMD\n", new Set()), /PID field/);
  assert.deepEqual(procsFiles("0::/pier/abc\n", "/cg"), [
    "/cg/pier/abc/cgroup.procs",
    "/cg/unified/pier/abc/cgroup.procs",
  ]);
  const c = applyChanges({ Env: ["A=0"] }, [
    'CMD ["cat","/x"]',
    "ENTRYPOINT echo hi",
    'ENV A=1 B="two words"',
    "EXPOSE 80 53/udp",
    "LABEL k=v",
    "USER nobody",
    "WORKDIR /srv",
    "WORKDIR sub",
    'VOLUME ["/data"]',
    "STOPSIGNAL SIGINT",
  ]);
  assert.deepEqual(c.Cmd, ["cat", "/x"]);
  assert.deepEqual(c.Entrypoint, ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(c.Env, ["A=1", "B=two words"]);
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ["80/tcp", "53/udp"]);
  assert.equal(c.WorkingDir, "/srv/sub");
  assert.equal(c.User, "nobody");
  assert.deepEqual(c.Labels, { k: "v" });
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ["/data"]);
  assert.equal(c.StopSignal, "SIGINT");
  assert.throws(() => applyChanges({}, ["RUN rm -rf /"]), /run is not a valid change command/);
  const rows = historyRows(
    "sha256:top",
    ["a:1"],
    {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
      history: [
        { created: "2020-01-01T00:00:00Z", created_by: "base" },
        { created: "2020-01-02T00:00:00Z", created_by: "env", empty_layer: true },
        { created: "2020-01-03T00:00:00Z", created_by: "commit", comment: "c" },
      ],
    },
    {
      schemaVersion: 2,
      config: { mediaType: "x", digest: "sha256:c" as never, size: 1 },
      layers: [
        { mediaType: "x", digest: "sha256:l1" as never, size: 10 },
        { mediaType: "x", digest: "sha256:l2" as never, size: 20 },
      ],
    },
  );
  assert.deepEqual(
    rows.map((r) => [r.Id, r.CreatedBy, r.Size, r.Comment]),
    [
      ["sha256:top", "commit", 20, "c"],
      ["<missing>", "env", 0, ""],
      ["<missing>", "base", 10, ""],
    ],
  );
});

test("docker create then start -a; docker top with ps options; docker port; logs --details", async () => {
  await ok(["create", "--name", "created1", reg.image, "echo", "hi"]);
  assert.equal((await ok(["inspect", "-f", "{{.State.Status}}", "created1"])).trim(), "created");
  assert.equal(await ok(["start", "-a", "created1"]), "hi\n");
  assert.equal(await ok(["logs", "--details", "created1"]), " hi\n");
  const id = await runDetached("top1", "sleep", "601");
  const top = await ok(["top", "top1"]);
  assert.match(top, /PID/);
  assert.match(top, /sleep 601/);
  // Only this container's processes: the host's init is not there.
  assert.doesNotMatch(top, /\binit\b|systemd/);
  const custom = await ok(["top", "top1", "-o", "pid,args"]);
  assert.match(custom.split("\n")[0]!, /^\s*PID\s+COMMAND/);
  assert.match(await pierOk(["top", "top1"]), /sleep 601/);
  assert.notEqual((await docker(d, ["top", "created1"])).status, 0);
  await ok(["rm", "-f", id]);
  await ok([
    "run",
    "-d",
    "--name",
    "port1",
    "-p",
    "127.0.0.1::80",
    "-p",
    "127.0.0.1:0:53/udp",
    reg.image,
    "sleep",
    "600",
  ]);
  const ports = await ok(["port", "port1"]);
  assert.match(ports, /^80\/tcp -> 127\.0\.0\.1:\d+$/m);
  assert.match(ports, /^53\/udp -> 127\.0\.0\.1:\d+$/m);
  assert.match(await ok(["port", "port1", "80"]), /^127\.0\.0\.1:\d+\n$/);
  assert.equal(await pierOk(["port", "port1"]), ports);
  await ok(["rm", "-f", "port1", "created1"]);
});

test("docker rename and pier rename: the new name finds it, the old does not, a taken name is refused", async () => {
  await ok(["create", "--name", "rn-a", reg.image, "true"]);
  await ok(["create", "--name", "rn-b", reg.image, "true"]);
  await ok(["rename", "rn-a", "rn-c"]);
  assert.equal((await ok(["inspect", "-f", "{{.Name}}", "rn-c"])).trim(), "/rn-c");
  assert.notEqual((await docker(d, ["inspect", "rn-a"])).status, 0);
  const taken = await docker(d, ["rename", "rn-c", "rn-b"]);
  assert.notEqual(taken.status, 0);
  assert.match(taken.stderr, /already in use/);
  const bad = await docker(d, ["rename", "rn-c", "-bad"]);
  assert.notEqual(bad.status, 0);
  await pierOk(["rename", "rn-c", "rn-d"]);
  assert.match(await ok(["ps", "-a", "--format", "{{.Names}}"]), /^rn-d$/m);
  await ok(["rm", "rn-d", "rn-b"]);
});

test("docker diff and pier diff: added, changed and deleted paths from the overlay upper dir", async () => {
  await runDetached("diff1");
  // What pier made only to mount /etc/hosts, /etc/resolv.conf, /etc/hostname is no change (Docker's init layer).
  assert.equal(await ok(["diff", "diff1"]), "");
  await ok([
    "exec",
    "diff1",
    "sh",
    "-c",
    "echo x > /new-file; mkdir -p /newdir/sub; echo y >> /etc/passwd; rm /bin/vi",
  ]);
  const out = await ok(["diff", "diff1"]);
  const lines = out.trim().split("\n");
  for (const l of [
    "A /new-file",
    "A /newdir",
    "A /newdir/sub",
    "C /etc",
    "C /etc/passwd",
    "D /bin/vi",
    "C /bin",
  ])
    assert.ok(lines.includes(l), `${l} in:\n${out}`);
  assert.equal(await pierOk(["diff", "diff1"]), out);
  await ok(["rm", "-f", "diff1"]);
});

test("docker cp both ways, on a running and a stopped container, files and directories", async () => {
  const host = scratch("cp");
  writeFileSync(join(host, "in.txt"), "from the host\n");
  mkdirSync(join(host, "tree/sub"), { recursive: true });
  writeFileSync(join(host, "tree/sub/f"), "deep\n");
  await runDetached("cp1");
  await ok(["cp", join(host, "in.txt"), "cp1:/tmp/"]);
  await ok(["cp", join(host, "in.txt"), "cp1:/tmp/renamed.txt"]);
  await ok(["cp", join(host, "tree"), "cp1:/srv"]);
  assert.equal(
    await ok(["exec", "cp1", "cat", "/tmp/in.txt", "/tmp/renamed.txt", "/srv/sub/f"]),
    "from the host\nfrom the host\ndeep\n",
  );
  // As docker documents: files copied in belong to root, -a keeps their owners.
  assert.equal((await ok(["exec", "cp1", "stat", "-c", "%u", "/tmp/in.txt"])).trim(), "0");
  await ok(["exec", "cp1", "sh", "-c", "mkdir /out && echo out > /out/a && ln -s /out/a /out/link"]);
  await ok(["cp", "cp1:/out", join(host, "got")]);
  assert.equal(readFileSync(join(host, "got/a"), "utf8"), "out\n");
  await ok(["cp", "cp1:/out/.", join(host, "contents")]);
  assert.deepEqual(readdirSync(join(host, "contents")).sort(), ["a", "link"]);
  await ok(["cp", "-L", "cp1:/out/link", join(host, "followed")]);
  assert.equal(readFileSync(join(host, "followed"), "utf8"), "out\n");
  // The container ran frozen only while copying.
  assert.equal((await ok(["inspect", "-f", "{{.State.Status}}", "cp1"])).trim(), "running");
  await ok(["stop", "-t", "0", "cp1"]);
  await ok(["cp", join(host, "in.txt"), "cp1:/stopped.txt"]);
  await ok(["cp", "cp1:/stopped.txt", join(host, "back.txt")]);
  assert.equal(readFileSync(join(host, "back.txt"), "utf8"), "from the host\n");
  const missing = await docker(d, ["cp", "cp1:/no/such", join(host, "x")]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /No such container:path|Could not find/);
  // pier cp, both ways.
  await pierOk(["cp", join(host, "in.txt"), "cp1:/pier-in.txt"]);
  await pierOk(["cp", "cp1:/pier-in.txt", join(host, "pier-back.txt")]);
  assert.equal(readFileSync(join(host, "pier-back.txt"), "utf8"), "from the host\n");
  await pierOk(["cp", "cp1:/out", join(host, "pier-got")]);
  assert.equal(readFileSync(join(host, "pier-got/a"), "utf8"), "out\n");
  await ok(["rm", "-f", "cp1"]);
});

test("cp stays inside the container: ../ and symlinks resolve in its root, escaping tar entries are refused", async () => {
  const host = scratch("cp-hostile");
  const secret = join(host, "secret");
  writeFileSync(secret, "host secret\n");
  await runDetached("cp2");
  // A symlink to the host path and climbing ../ both resolve inside the container's root.
  await ok([
    "exec",
    "cp2",
    "sh",
    "-c",
    `mkdir -p ${host} && echo inside > ${host}/secret; ln -s ${host} /hostlink; ln -s / /rootlink`,
  ]);
  await ok(["cp", "cp2:/hostlink/secret", join(host, "via-link")]);
  assert.equal(readFileSync(join(host, "via-link"), "utf8"), "inside\n");
  await ok(["cp", "cp2:/../../../../../../rootlink/../../etc/passwd", join(host, "passwd")]);
  assert.match(readFileSync(join(host, "passwd"), "utf8"), /^root:x:0:0:root:\/root:\/bin\/sh\nuser:x:1000/);
  // Writing through a symlink to "/" lands in the container, not on the host.
  writeFileSync(join(host, "payload"), "payload\n");
  await ok(["cp", join(host, "payload"), "cp2:/rootlink/tmp/"]);
  assert.equal(await ok(["exec", "cp2", "cat", "/tmp/payload"]), "payload\n");
  assert.ok(!existsSync("/tmp/payload") || readFileSync("/tmp/payload", "utf8") !== "payload\n");
  // A tar with an entry climbing out of the destination is refused and writes nothing.
  const marker = `pier-escape-${process.pid}`;
  const evil = tarOf([{ name: `../../../../../../../tmp/${marker}`, body: "escaped\n" }]);
  const put = await raw("PUT", `/v1.41/containers/cp2/archive?path=/tmp`, evil);
  assert.equal(put.status, 400, put.body);
  assert.match(put.body, /climbs out of the root/);
  assert.ok(!existsSync(`/tmp/${marker}`));
  assert.equal((await docker(d, ["exec", "cp2", "test", "-e", `/tmp/${marker}`])).status, 1);
  // A symlink entry then a write through it: resolved inside the destination directory.
  const viaLink = tarOf([
    { name: "up", type: "symlink", linkname: "/" },
    { name: `up/tmp/${marker}`, body: "through link\n" },
  ]);
  assert.equal((await raw("PUT", `/v1.41/containers/cp2/archive?path=/srv`, viaLink)).status, 404);
  const put2 = await raw("PUT", `/v1.41/containers/cp2/archive?path=/tmp`, viaLink);
  assert.equal(put2.status, 200, put2.body);
  assert.ok(!existsSync(`/tmp/${marker}`));
  assert.equal(await ok(["exec", "cp2", "cat", `/tmp/tmp/${marker}`]), "through link\n");
  // Not a directory, not a tar.
  const notDir = await raw(
    "PUT",
    `/v1.41/containers/cp2/archive?path=/etc/passwd`,
    tarOf([{ name: "x", body: "x" }]),
  );
  assert.equal(notDir.status, 400);
  assert.match(notDir.body, /extraction point is not a directory/);
  const garbage = await raw("PUT", `/v1.41/containers/cp2/archive?path=/tmp`, Buffer.alloc(2048, 7));
  assert.equal(garbage.status, 400, garbage.body);
  // noOverwriteDirNonDir (the CLI always sends it): a directory is not replaced by a file.
  const clash = await raw(
    "PUT",
    `/v1.41/containers/cp2/archive?path=/&noOverwriteDirNonDir=1`,
    tarOf([{ name: "tmp", body: "file\n" }]),
  );
  assert.equal(clash.status, 400, clash.body);
  assert.match(clash.body, /cannot overwrite directory/);
  assert.equal((await ok(["exec", "cp2", "stat", "-c", "%F", "/tmp"])).trim(), "directory");
  await ok(["rm", "-f", "cp2"]);
});

test("docker export, commit with --change, history, import: the round trip runs", async () => {
  const host = scratch("commit");
  await runDetached("cm1");
  await ok(["exec", "cm1", "sh", "-c", "echo committed > /hello; rm /bin/vi"]);
  const id = (
    await ok([
      "commit",
      "--change",
      'CMD ["cat", "/hello"]',
      "--change",
      "ENV GREETING=hi",
      "--change",
      "EXPOSE 8080",
      "-a",
      "Tester <t@example.com>",
      "-m",
      "a message",
      "cm1",
      "committed:1",
    ])
  ).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.equal((await ok(["inspect", "-f", "{{.State.Status}}", "cm1"])).trim(), "running");
  assert.equal(await ok(["run", "--rm", "committed:1"]), "committed\n");
  assert.equal((await docker(d, ["run", "--rm", "committed:1", "test", "-e", "/bin/vi"])).status, 1);
  assert.match(await ok(["run", "--rm", "committed:1", "env"]), /^GREETING=hi$/m);
  const inspect = JSON.parse(await ok(["image", "inspect", "committed:1"])) as {
    Id: string;
    Author: string;
    Config: { ExposedPorts: Record<string, unknown> };
    RootFS: { Layers: string[] };
  }[];
  assert.equal(inspect[0]!.Id, id);
  assert.equal(inspect[0]!.Author, "Tester <t@example.com>");
  assert.ok("8080/tcp" in inspect[0]!.Config.ExposedPorts);
  assert.equal(inspect[0]!.RootFS.Layers.length, 2);
  const history = await ok([
    "history",
    "--no-trunc",
    "--format",
    "{{.ID}}|{{.CreatedBy}}|{{.Comment}}",
    "committed:1",
  ]);
  assert.match(history.split("\n")[0]!, new RegExp(`^${id}\\|sleep 600\\|a message$`));
  assert.match(await pierOk(["history", "committed:1"]), /a message/);
  // The committed layer holds the changes, not the runtime's mount points.
  await ok(["save", "-o", join(host, "committed.tar"), "committed:1"]);
  const top = await runCommand("sh", [
    "-c",
    `cd ${host} && L=$(tar -xOf committed.tar manifest.json | sed 's/.*"Layers":\\[//; s/\\].*//' | tr ',' '\\n' | tail -1 | tr -d '"') && tar -xOf committed.tar "$L" | tar -t`,
  ]);
  assert.equal(top.status, 0, top.stderr);
  assert.deepEqual(top.stdout.trim().split("\n").sort(), ["bin/", "bin/.wh.vi", "hello"]);
  const bad = await docker(d, ["commit", "--change", "RUN echo", "cm1", "bad:1"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /run is not a valid change command/);
  assert.notEqual((await docker(d, ["image", "inspect", "bad:1"])).status, 0);
  // pier commit, then export and import of the result.
  assert.match(await pierOk(["commit", "-c", "USER nobody", "cm1", "committed:2"]), /^sha256:/);
  assert.equal((await ok(["run", "--rm", "committed:2", "id", "-u"])).trim(), "65534");
  await ok(["export", "-o", join(host, "fs.tar"), "cm1"]);
  const listing = await runCommand("tar", ["-tf", join(host, "fs.tar")]);
  assert.match(listing.stdout, /^hello$/m);
  assert.match(listing.stdout, /^bin\/busybox$/m);
  await ok([
    "import",
    "--change",
    'CMD ["cat", "/hello"]',
    "-m",
    "imported",
    join(host, "fs.tar"),
    "imported:1",
  ]);
  assert.equal(await ok(["run", "--rm", "imported:1"]), "committed\n");
  assert.match(await ok(["history", "--format", "{{.Comment}}", "imported:1"]), /^imported$/m);
  await pierOk(["export", "cm1", "-o", join(host, "pier-fs.tar")]);
  await pierOk(["import", join(host, "pier-fs.tar"), "imported:2"]);
  assert.equal(await ok(["run", "--rm", "imported:2", "cat", "/hello"]), "committed\n");
  // An import whose tar climbs out is refused and names nothing.
  writeFileSync(join(host, "evil.tar"), tarOf([{ name: "../../evil", body: "x" }]));
  const evil = await docker(d, ["import", join(host, "evil.tar"), "evil:1"]);
  assert.notEqual(evil.status, 0);
  assert.match(evil.stderr, /climbs out of the root/);
  assert.notEqual((await docker(d, ["image", "inspect", "evil:1"])).status, 0);
  await ok(["rm", "-f", "cm1"]);
});

test("docker save and load round trip; a bad archive is refused and leaves no image and no blob", async () => {
  const host = scratch("save");
  await ok(["tag", reg.image, "saved:1"]);
  await ok(["save", "-o", join(host, "img.tar"), "saved:1"]);
  const listing = await runCommand("tar", ["-tf", join(host, "img.tar")]);
  assert.match(listing.stdout, /^manifest\.json$/m);
  await ok(["rmi", "saved:1"]);
  assert.match(await ok(["load", "-i", join(host, "img.tar")]), /Loaded image: saved:1/);
  assert.equal(await ok(["run", "--rm", "saved:1", "echo", "loaded"]), "loaded\n");
  await pierOk(["save", "saved:1", "-o", join(host, "pier.tar")]);
  await ok(["rmi", "saved:1"]);
  assert.match(
    await pierOk(["load", "-i", join(host, "pier.tar")]),
    /Loaded image: docker.io\/library\/saved:1/,
  );
  // A truncated archive: refused, and the store is as it was.
  const blobs = () => readdirSync(join(d.root, "content", "blobs", "sha256")).sort();
  const images = async () => ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
  const before = { blobs: blobs(), images: await images() };
  const whole = readFileSync(join(host, "img.tar"));
  const cut = join(host, "cut.tar");
  // Without its manifest.json end: every layer there, the image description missing.
  const manifestAt = whole.indexOf(Buffer.from("manifest.json"));
  writeFileSync(cut, whole.subarray(0, manifestAt > 0 ? manifestAt - 1 : whole.length / 2));
  const load = await docker(d, ["load", "-i", cut]);
  assert.notEqual(load.status, 0);
  assert.deepEqual({ blobs: blobs(), images: await images() }, before);
  const notTar = join(host, "garbage.tar");
  writeFileSync(notTar, "this is not a tar archive at all");
  assert.notEqual((await docker(d, ["load", "-i", notTar])).status, 0);
  assert.deepEqual({ blobs: blobs(), images: await images() }, before);
  assert.equal((await raw("GET", "/v1.41/images/no-such-image:1/get")).status, 404);
});

test("cp into a path under a volume writes the volume, not the rootfs underneath", async () => {
  await ok(["volume", "create", "cpvol"]);
  await ok(["run", "-d", "--name", "cp3", "-v", "cpvol:/data", reg.image, "sleep", "600"]);
  const host = scratch("cp-vol");
  writeFileSync(join(host, "v.txt"), "in the volume\n");
  await ok(["cp", join(host, "v.txt"), "cp3:/data/"]);
  assert.equal(await ok(["exec", "cp3", "cat", "/data/v.txt"]), "in the volume\n");
  assert.equal(await ok(["run", "--rm", "-v", "cpvol:/v", reg.image, "cat", "/v/v.txt"]), "in the volume\n");
  await ok(["rm", "-f", "cp3"]);
});

test("pierd answers other requests while it packs a large tree (the walk runs off its event loop)", async () => {
  // 20,000 empty files: walking them synchronously takes a measurable time, measured here.
  const tree = join(scratch("big"), "many");
  for (let i = 0; i < 200; i++) {
    mkdirSync(join(tree, `d${i}`), { recursive: true });
    for (let j = 0; j < 100; j++) writeFileSync(join(tree, `d${i}`, `f${j}`), "");
  }
  const t0 = Date.now();
  for await (const _ of await packDirectory(tree, { xattrs: false })) void _;
  const syncWalk = Date.now() - t0;
  assert.ok(syncWalk >= 100, `a walk of 20,000 files took only ${syncWalk} ms: too fast to tell a stall`);
  // Bind-mounted, so `cp` out of the container packs the tree (the same packer as export).
  await ok(["run", "-d", "--name", "big1", "-v", `${tree}:/many`, reg.image, "sleep", "600"]);
  let entries = 0;
  let done = false;
  const fetching = new Promise<number>((resolve, reject) => {
    const req = request(
      { socketPath: d.dockerSocket, method: "GET", path: "/v1.41/containers/big1/archive?path=/many" },
      (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        res.on("end", () => resolve(res.statusCode === 200 ? bytes : -1));
      },
    );
    req.on("error", reject);
    req.end();
  }).finally(() => {
    done = true;
  });
  let slowest = 0;
  while (!done) {
    const t = Date.now();
    assert.equal((await raw("GET", "/_ping")).status, 200);
    slowest = Math.max(slowest, Date.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
  entries = (await fetching) / 512;
  // Every file is a 512-byte header at least.
  assert.ok(entries > 20000, `archive of ${entries} blocks`);
  // A walk on pierd's own thread would hold a ping for about the whole walk.
  assert.ok(
    slowest < syncWalk / 2,
    `a ping waited ${slowest} ms during the pack (a whole walk: ${syncWalk} ms)`,
  );
  await ok(["rm", "-f", "big1"]);
});

test("uploads a killed pierd left spooled are removed when it starts again", async () => {
  await d.crash();
  const left = join(d.root, "tmp", "work-leftover");
  mkdirSync(left, { recursive: true });
  writeFileSync(join(left, "upload.tar"), "half an upload");
  await d.restart();
  assert.ok(!existsSync(left));
  assert.match(d.stderr(), /removed leftover uploads/);
});
