/**
 * Docker's run behaviours, through the stock docker CLI and through `pier` against a test
 * pierd: `-w` and `-v` make what is missing, a missing command exits 127 and a non-executable
 * one 126 with Docker's message, `--rm` takes anonymous volumes along, named volumes show their
 * host path, `ps`/`images`/`network ls` read as docker's (templates, relative times, JSON
 * keys), and a registry that refuses connections fails at once with one line.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { docker, ok, pier, useTestDaemon } from "../../testing/engine.js";

/** The test pierd and its busybox registry, the image pulled. */
const fx = useTestDaemon({ pull: true });

test("-w to a missing directory makes it (docker and pier); a file in the way is refused", async () => {
  assert.equal(await ok(docker(fx.d, ["run", "--rm", "-w", "/new/dir", fx.reg.image, "pwd"])), "/new/dir");
  assert.equal(
    await ok(pier(fx.d, ["run", "--rm", "-w", "/made/by/pier", fx.reg.image, "pwd"])),
    "/made/by/pier",
  );
  const file = await docker(fx.d, ["run", "--rm", "-w", "/etc/passwd", fx.reg.image, "pwd"]);
  assert.notEqual(file.status, 0);
  assert.match(file.stderr, /Cannot mkdir: \/etc\/passwd is not a directory/);
});

test("-v /missing:/x makes the host directory; --mount type=bind refuses it", async () => {
  const base = mkdtempSync(join(tmpdir(), "pier-v-"));
  try {
    const viaDocker = join(base, "docker", "deep");
    await ok(
      docker(fx.d, ["run", "--rm", "-v", `${viaDocker}:/x`, fx.reg.image, "sh", "-c", "echo hi > /x/f"]),
    );
    assert.ok(statSync(viaDocker).isDirectory());
    assert.ok(existsSync(join(viaDocker, "f")));
    const viaPier = join(base, "pier");
    await ok(pier(fx.d, ["run", "--rm", "-v", `${viaPier}:/x`, fx.reg.image, "true"]));
    assert.ok(statSync(viaPier).isDirectory());
    const mount = join(base, "mount");
    const refused = await docker(fx.d, [
      "run",
      "--rm",
      "--mount",
      `type=bind,src=${mount},dst=/x`,
      fx.reg.image,
      "true",
    ]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /bind source path does not exist/);
    assert.equal(existsSync(mount), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a missing command exits 127, a non-executable one 126, with Docker's message", async () => {
  const cases: [string[], number, RegExp][] = [
    [["/nope"], 127, /exec: "\/nope": stat \/nope: no such file or directory/],
    [["nope"], 127, /exec: "nope": executable file not found in \$PATH/],
    [["/etc/passwd"], 126, /exec: "\/etc\/passwd": permission denied/],
    [["/etc"], 126, /exec: "\/etc": permission denied/],
  ];
  for (const [cmd, code, message] of cases) {
    const r = await docker(fx.d, ["run", "--rm", fx.reg.image, ...cmd]);
    assert.equal(r.status, code, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /pier-init|config\.json/);
    const p = await pier(fx.d, ["run", "--rm", fx.reg.image, ...cmd]);
    assert.equal(p.status, code, `pier ${cmd}: ${p.stderr}`);
    assert.match(p.stderr, message);
  }
  assert.equal(await ok(docker(fx.d, ["ps", "-aq"])), "", "--rm took them away");
  // Not removed: the state says why, with the code.
  await docker(fx.d, ["run", "--name", "nocmd", fx.reg.image, "nope"]);
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.ExitCode}}", "nocmd"])), "127");
  assert.match(
    await ok(docker(fx.d, ["inspect", "-f", "{{.State.Error}}", "nocmd"])),
    /executable file not found/,
  );
  // A command that is there runs (PATH lookup, a relative path from the working directory).
  assert.equal(await ok(docker(fx.d, ["run", "--rm", "-w", "/bin", fx.reg.image, "./echo", "ran"])), "ran");
  await ok(docker(fx.d, ["rm", "nocmd"]));
});

test("--rm removes anonymous volumes (named ones stay); pier rm -v; Mounts.Source is the host path", async () => {
  const volumes = async () => (await ok(docker(fx.d, ["volume", "ls", "-q"]))).split("\n").filter(Boolean);
  const before = await volumes();
  await ok(docker(fx.d, ["run", "--rm", "-v", "/anon", "-v", "keepme:/named", fx.reg.image, "true"]));
  assert.deepEqual(
    (await volumes()).filter((v) => !before.includes(v)),
    ["keepme"],
  );
  await ok(pier(fx.d, ["run", "--rm", "-v", "/anon", fx.reg.image, "true"]));
  assert.deepEqual(
    (await volumes()).filter((v) => !before.includes(v)),
    ["keepme"],
  );
  // The control: without --rm, the anonymous volume is made and stays after a plain rm.
  await ok(docker(fx.d, ["run", "--name", "anon", "-v", "/anon", fx.reg.image, "true"]));
  const anon = (await volumes()).filter((v) => !before.includes(v) && v !== "keepme");
  assert.equal(anon.length, 1);
  await ok(pier(fx.d, ["rm", "anon"]));
  assert.ok((await volumes()).includes(anon[0]!));
  await ok(docker(fx.d, ["run", "--name", "anon2", "-v", "/anon", fx.reg.image, "true"]));
  const anon2 = (await volumes()).filter((v) => !before.includes(v) && v !== "keepme" && v !== anon[0]);
  await ok(pier(fx.d, ["rm", "-v", "anon2"]));
  assert.equal((await volumes()).includes(anon2[0]!), false);
  await ok(docker(fx.d, ["volume", "rm", anon[0]!]));
  await ok(
    docker(fx.d, ["run", "-d", "--name", "withvol", "-v", "keepme:/named", fx.reg.image, "sleep", "100"]),
  );
  const mounts = JSON.parse(await ok(docker(fx.d, ["inspect", "-f", "{{json .Mounts}}", "withvol"]))) as {
    Name: string;
    Source: string;
  }[];
  assert.equal(mounts[0]?.Name, "keepme");
  assert.equal(mounts[0]?.Source, join(fx.d.root, "volumes", "keepme", "_data"));
  assert.equal(
    mounts[0]?.Source,
    await ok(docker(fx.d, ["volume", "inspect", "-f", "{{.Mountpoint}}", "keepme"])),
  );
  await ok(docker(fx.d, ["rm", "-f", "withvol"]));
  await ok(docker(fx.d, ["volume", "rm", "keepme"]));
});

/** The super-block options of the root mount in `mountinfo` (a container's own view). */
function rootOptions(mountinfo: string): string {
  const root = mountinfo.split("\n").find((l) => l.split(" ")[4] === "/");
  assert.ok(root, mountinfo);
  return root.split(" - ")[1]?.split(" ")[2] ?? "";
}

test("--rm containers' writable layers are volatile (as podman's), kept containers' are not", async () => {
  // Linux shows the option as `volatile` (5.10) or `fsync=volatile` (6.x).
  const volatile = /(^|,)(fsync=)?volatile(,|$)/;
  const inside = ["cat", "/proc/self/mountinfo"];
  assert.match(rootOptions(await ok(docker(fx.d, ["run", "--rm", fx.reg.image, ...inside]))), volatile);
  assert.match(rootOptions(await ok(pier(fx.d, ["run", "--rm", fx.reg.image, ...inside]))), volatile);
  const kept = await ok(docker(fx.d, ["run", "--name", "kept", fx.reg.image, ...inside]));
  assert.doesNotMatch(rootOptions(kept), /volatile/);
  await ok(docker(fx.d, ["rm", "kept"]));
  const keptByPier = await ok(pier(fx.d, ["run", "--name", "kept2", fx.reg.image, ...inside]));
  assert.doesNotMatch(rootOptions(keptByPier), /volatile/);
  await ok(pier(fx.d, ["rm", "kept2"]));
  // Detached, pierd removes it: the host's view of its overlay while it runs.
  const id = await ok(pier(fx.d, ["run", "-d", "--rm", fx.reg.image, "sleep", "60"]));
  const merged = join(fx.d.root, "rw", id, "merged");
  const host = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((l) => l.split(" ")[4] === merged);
  assert.match(host?.split(" - ")[1]?.split(" ")[2] ?? "", volatile, `${merged} in the host's mountinfo`);
  await ok(pier(fx.d, ["rm", "-f", id]));
});

test("rm -f of a running --rm container joins its auto-removal instead of racing it", async () => {
  // The kill sets off the auto-removal; the rm's own removal used to run beside it and fail
  // ("umount …/merged: No such file or directory") once the other had removed the snapshot.
  // A race: 20 tries (it failed within 20 before the fix).
  for (let i = 0; i < 20; i++) {
    const cli = i % 2 ? docker : pier;
    const id = await ok(cli(fx.d, ["run", "-d", "--rm", fx.reg.image, "sleep", "60"]));
    await ok(cli(fx.d, ["rm", "-f", id]));
    const gone = await docker(fx.d, ["inspect", id]);
    assert.notEqual(gone.status, 0, `${id} is gone`);
    assert.equal(existsSync(join(fx.d.root, "rw", id)), false, "its snapshot too");
  }
});

test("when a waiter hears of an exit, the network namespace and the runtime's state are gone (as Docker)", async () => {
  for (const network of ["none", "bridge"]) {
    const id = await ok(docker(fx.d, ["run", "-d", "--network", network, fx.reg.image, "sleep", "60"]));
    assert.ok(existsSync(join(fx.d.execRoot, "netns", id)), "its namespace while it runs");
    const waited = docker(fx.d, ["wait", id]);
    await ok(docker(fx.d, ["kill", id]));
    assert.equal(await ok(waited), "137");
    assert.equal(existsSync(join(fx.d.execRoot, "netns", id)), false, `${network}: namespace gone`);
    assert.equal(existsSync(join(fx.d.execRoot, "runtime", id)), false, `${network}: runtime state gone`);
    await ok(docker(fx.d, ["rm", id]));
  }
});

test("pier ps, images and network ls: docker's templates, relative times, cut commands, JSON keys", async () => {
  await ok(
    pier(fx.d, [
      "run",
      "-d",
      "--name",
      "lister",
      "-l",
      "a=b",
      fx.reg.image,
      "sh",
      "-c",
      "while true; do sleep 1; done",
    ]),
  );
  assert.equal(await ok(pier(fx.d, ["ps", "--format", "{{.Names}}"])), "lister");
  const table = await ok(pier(fx.d, ["ps"]));
  assert.match(table, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/m);
  assert.match(
    table,
    /"sh -c while true; d…"\s+(Less than a second|\d+ seconds?) ago\s+Up (Less than a second|\d+ seconds?)\s+lister$/m,
  );
  const full = await ok(pier(fx.d, ["ps", "--no-trunc", "--format", "{{.Command}}"]));
  assert.equal(full, JSON.stringify("sh -c while true; do sleep 1; done"));
  const docs = (await ok(pier(fx.d, ["ps", "--format", "json"]))).split("\n").map((l) => JSON.parse(l));
  const dockers = (await ok(docker(fx.d, ["ps", "--format", "json"]))).split("\n").map((l) => JSON.parse(l));
  assert.equal(docs.length, 1);
  // Every key of pier's rows is one of docker's, with the same values where both are exact.
  for (const k of Object.keys(docs[0])) assert.ok(k in dockers[0], `docker ps has no ${k}`);
  for (const k of ["Names", "Image", "State", "Labels", "Command", "CreatedAt", "ID"])
    assert.equal(docs[0][k], dockers[0][k], k);
  const images = (await ok(pier(fx.d, ["images", "--format", "json"]))).split("\n").map((l) => JSON.parse(l));
  const dockerImages = (await ok(docker(fx.d, ["images", "--format", "json"])))
    .split("\n")
    .map((l) => JSON.parse(l));
  for (const k of Object.keys(images[0])) assert.ok(k in dockerImages[0], `docker images has no ${k}`);
  assert.match(images[0].CreatedSince, / ago$/);
  assert.match(
    await ok(pier(fx.d, ["images"])),
    /\s(Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago\s/,
  );
  const nets = (await ok(pier(fx.d, ["network", "ls", "--format", "json"])))
    .split("\n")
    .map((l) => JSON.parse(l));
  const dockerNets = (await ok(docker(fx.d, ["network", "ls", "--format", "json"])))
    .split("\n")
    .map((l) => JSON.parse(l));
  for (const k of Object.keys(nets[0])) assert.ok(k in dockerNets[0], `docker network ls has no ${k}`);
  assert.deepEqual(nets.map((n) => n.Name).sort(), dockerNets.map((n) => n.Name).sort());
  assert.match(
    await ok(pier(fx.d, ["network", "ls", "--format", "{{.Name}}:{{.Driver}}"])),
    /^bridge:bridge$/m,
  );
  await ok(pier(fx.d, ["rm", "-f", "lister"]));
});

test("a registry that refuses connections fails at once with one line", async () => {
  const ref = "127.0.0.1:1/nothing:latest";
  for (const [name, run] of [
    ["docker pull", () => docker(fx.d, ["pull", ref])],
    ["pier pull", () => pier(fx.d, ["pull", ref])],
    ["pier run", () => pier(fx.d, ["run", "--rm", ref])],
  ] as const) {
    const t0 = Date.now();
    const r = await run();
    const ms = Date.now() - t0;
    assert.notEqual(r.status, 0, name);
    assert.match(r.stderr, /ECONNREFUSED|connection refused/, name);
    assert.doesNotMatch(r.stderr, /retrying/, name);
    const errorLines = r.stderr.split("\n").filter((l) => /ECONNREFUSED/.test(l));
    assert.equal(errorLines.length, 1, `${name}: ${r.stderr}`);
    assert.ok(ms < 5000, `${name} took ${ms} ms`);
  }
});
