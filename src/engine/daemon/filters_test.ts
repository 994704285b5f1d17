/**
 * Docker's filters through the stock docker CLI and the pier CLI against a test pierd: every
 * prune removes only what its filters select (unlabelled, newer-than-`until` and in-use objects
 * survive) and refuses an unknown filter before removing anything; dangling images (a tag moved
 * by a pull) are kept and listed as `<none>`; `ps -l`/`-n`, `ps --filter health=`; `inspect`
 * shows the image config merged with the request.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createImage } from "../../image/build.js";
import { ImageStore } from "../../image/image-store.js";
import { push } from "../../remote/pull.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import { type BusyboxRegistry, docker, pier, type TestDaemon, useTestDaemon } from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";
import { containerMatches } from "../api/container-list.js";
import { effectiveConfig } from "../api/effective-config.js";
import {
  boolFilter,
  checkFilters,
  FILTER_KEYS,
  labelsPass,
  parseFilters,
  pathMatch,
  timestampMs,
  untilMs,
} from "../filters.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});

async function ok(args: string[]): Promise<string> {
  const r = await docker(d, args);
  assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function names(args: string[]): Promise<string[]> {
  return (await ok(args)).split("\n").filter(Boolean).sort();
}

const uniq = (p: string) => `${p}${Math.random().toString(16).slice(2, 8)}`;

/** Builds an image with `opts` and pushes it over `name` in the test registry. */
async function pushImage(name: string, opts: Parameters<typeof createImage>[3]): Promise<void> {
  const work = await makeTempDir("pier-filters-img-");
  try {
    const rootfs = await writeBusyboxRootfs(join(work, "rootfs"));
    const store = await ImageStore.open(join(work, "store"));
    await createImage(store, rootfs, "img:latest", opts);
    await push(name, {
      storeRoot: join(work, "store"),
      localName: "docker.io/library/img:latest",
      insecure: true,
    });
  } finally {
    await removeTempDir(work);
  }
}

test("filters: the grammar and matching rules every endpoint shares", () => {
  assert.deepEqual(parseFilters('{"label":{"a=b":true},"until":["1h"]}'), { label: ["a=b"], until: ["1h"] });
  assert.throws(() => parseFilters("{"), /invalid filters/);
  assert.throws(() => checkFilters({ bogus: ["x"] }, "containerPrune"), /invalid filter 'bogus'/);
  assert.throws(() => checkFilters({ dangling: ["true"] }, "networkPrune"), /invalid filter 'dangling'/);
  assert.equal(labelsPass({ label: ["a"] }, { a: "1" }), true);
  assert.equal(labelsPass({ label: ["a=2"] }, { a: "1" }), false);
  assert.equal(labelsPass({ "label!": ["a"] }, { a: "1" }), false);
  assert.equal(labelsPass({ "label!": ["a"] }, {}), true);
  // moby: excluded only when every `label!` value matches.
  assert.equal(labelsPass({ "label!": ["a", "b"] }, { a: "1" }), true);
  assert.equal(boolFilter({ dangling: ["1"] }, "dangling"), true);
  assert.throws(() => boolFilter({ dangling: ["maybe"] }, "dangling"), /invalid filter 'dangling=maybe'/);
  const now = Date.parse("2024-01-02T00:00:00Z");
  assert.equal(timestampMs("1h", now), now - 3600000);
  assert.equal(timestampMs("1h30m", now), now - 5400000);
  assert.equal(timestampMs("1700000000.5"), 1700000000500);
  assert.equal(timestampMs("2024-01-01T00:00:00Z"), Date.parse("2024-01-01T00:00:00Z"));
  assert.throws(() => timestampMs("soon"), /failed to parse value as time or duration: "soon"/);
  assert.throws(() => untilMs({ until: ["1h", "2h"] }), /more than one until filter/);
  assert.equal(pathMatch("busy*", "busybox"), true);
  assert.equal(pathMatch("busy*", "library/busybox"), false);
  assert.equal(pathMatch("b?sybox:[lx]atest", "busybox:latest"), true);
  assert.equal(pathMatch("[^a-c]usybox", "busybox"), false);
  assert.equal(pathMatch("[a-c]usybox", "busybox"), true);
  assert.equal(pathMatch("busybox[", "busybox["), false);
  // A client's pattern costs pattern × text steps, never exponential backtracking.
  assert.equal(pathMatch(`${"*a".repeat(40)}*b`, "a".repeat(250)), false);
});

test("filters: ps rows (health, publish ranges, is-task) and bad values named", () => {
  const row = {
    Id: "abc123",
    Names: ["/web"],
    State: "running",
    Status: "Up 1 second",
    Labels: {},
    Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: "tcp" }],
    Mounts: [{ Name: "data", Source: "/v/data", Destination: "/data" }],
    NetworkSettings: { Networks: { front: { NetworkID: "f00d" } } },
  };
  const facts = { health: "healthy", createdMs: 0 };
  assert.equal(containerMatches(row, { health: ["healthy"] }, facts), true);
  assert.equal(containerMatches(row, { health: ["unhealthy"] }, facts), false);
  assert.throws(
    () => containerMatches(row, { health: ["sick"] }),
    /Unrecognised filter value for health: sick/,
  );
  assert.throws(() => containerMatches(row, { status: ["up"] }), /Unrecognised filter value for status: up/);
  assert.equal(containerMatches(row, { publish: ["8000-8100/tcp"] }), true);
  assert.equal(containerMatches(row, { publish: ["80"] }), false);
  assert.equal(containerMatches(row, { expose: ["80/tcp"] }), true);
  assert.equal(containerMatches(row, { volume: ["/data"], network: ["front"] }), true);
  assert.equal(containerMatches(row, { network: ["back"] }), false);
  assert.equal(containerMatches(row, { "is-task": ["true"] }), false);
  assert.throws(() => containerMatches(row, { publish: ["http"] }), /invalid port filter "http"/);
});

test("effective config: the image's Env, Cmd, WorkingDir, User, Labels, ports, volumes, StopSignal under the request's", () => {
  const merged = effectiveConfig(
    { Env: ["A=1", "PATH=/mine"], Cmd: null, Entrypoint: null, User: "", WorkingDir: "", Labels: { b: "2" } },
    {
      Env: ["PATH=/usr/bin", "HOME=/root"],
      Cmd: ["sh"],
      WorkingDir: "/srv",
      User: "daemon",
      Labels: { a: "1", b: "image" },
      ExposedPorts: { "80/tcp": {} },
      Volumes: { "/data": {} },
      StopSignal: "SIGQUIT",
    },
  );
  assert.deepEqual(merged.Env, ["A=1", "PATH=/mine", "HOME=/root"]);
  assert.deepEqual(merged.Cmd, ["sh"]);
  assert.equal(merged.WorkingDir, "/srv");
  assert.equal(merged.User, "daemon");
  assert.deepEqual(merged.Labels, { a: "1", b: "2" });
  assert.deepEqual(merged.ExposedPorts, { "80/tcp": {} });
  assert.deepEqual(merged.Volumes, { "/data": {} });
  assert.equal(merged.StopSignal, "SIGQUIT");
  // An entrypoint of the request keeps the image's command out, as moby's merge.
  assert.deepEqual(effectiveConfig({ Entrypoint: ["top"], Cmd: null }, { Cmd: ["sh"] }).Cmd, null);
});

test("docker container prune: label, label!, until select; running, unlabelled and new containers survive; unknown filter removes nothing", async () => {
  const [a, b, run] = [uniq("pa"), uniq("pb"), uniq("pr")];
  await ok(["create", "--name", a, "--label", "prune=yes", reg.image, "true"]);
  await ok(["create", "--name", b, reg.image, "true"]);
  await ok(["run", "-d", "--name", run, "--label", "prune=yes", reg.image, "sleep", "60"]);
  const bad = await docker(d, ["container", "prune", "-f", "--filter", "bogus=1"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
  const all = await names(["ps", "-a", "--format", "{{.Names}}"]);
  for (const n of [a, b, run]) assert.ok(all.includes(n), `${n} survived a refused prune`);
  // Created just now: an `until` an hour back keeps it.
  await ok(["container", "prune", "-f", "--filter", "until=1h", "--filter", "label=prune=yes"]);
  assert.ok((await names(["ps", "-a", "--format", "{{.Names}}"])).includes(a));
  await ok(["container", "prune", "-f", "--filter", "label=prune=yes"]);
  const left = await names(["ps", "-a", "--format", "{{.Names}}"]);
  assert.ok(!left.includes(a), "the labelled stopped container went");
  assert.ok(left.includes(b), "the unlabelled one stayed");
  assert.ok(left.includes(run), "the running one stayed");
  await ok(["container", "prune", "-f", "--filter", "label!=keep"]);
  assert.ok(!(await names(["ps", "-a", "--format", "{{.Names}}"])).includes(b));
  await ok(["rm", "-f", run]);
});

test("docker network prune --filter label=: the unlabelled and the used network survive", async () => {
  const [lab, plain, used, c] = [uniq("nl"), uniq("np"), uniq("nu"), uniq("nc")];
  await ok(["network", "create", "--label", "team=x", lab]);
  await ok(["network", "create", plain]);
  await ok(["network", "create", "--label", "team=x", used]);
  await ok(["create", "--name", c, "--network", used, reg.image, "true"]);
  const bad = await docker(d, ["network", "prune", "-f", "--filter", "dangling=true"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'dangling'/);
  await ok(["network", "prune", "-f", "--filter", "until=1h", "--filter", "label=team=x"]);
  assert.ok((await names(["network", "ls", "--format", "{{.Name}}"])).includes(lab), "newer than until");
  await ok(["network", "prune", "-f", "--filter", "label=team=x"]);
  const left = await names(["network", "ls", "--format", "{{.Name}}"]);
  assert.ok(!left.includes(lab));
  assert.ok(left.includes(plain) && left.includes(used));
  assert.deepEqual(await names(["network", "ls", "--filter", "dangling=true", "--format", "{{.Name}}"]), [
    plain,
  ]);
  await ok(["rm", c]);
  await ok(["network", "rm", plain, used]);
});

test("docker volume prune: label! keeps what it names; in-use volumes survive; unknown filter refused", async () => {
  const [keep, gone, inUse, c] = [uniq("vk"), uniq("vg"), uniq("vu"), uniq("vc")];
  await ok(["volume", "create", "--label", "keep=1", keep]);
  await ok(["volume", "create", gone]);
  await ok(["volume", "create", inUse]);
  await ok(["create", "--name", c, "-v", `${inUse}:/x`, reg.image, "true"]);
  const bad = await docker(d, ["volume", "prune", "-f", "--filter", "until=1h"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'until'/);
  await ok(["volume", "prune", "-f", "--filter", "label!=keep"]);
  const left = await names(["volume", "ls", "--format", "{{.Name}}"]);
  assert.ok(left.includes(keep) && left.includes(inUse));
  assert.ok(!left.includes(gone));
  await ok(["rm", c]);
  await ok(["volume", "rm", keep, inUse]);
});

test("docker system prune --filter label=: every step honours it; an unknown filter removes nothing", async () => {
  const [a, b, net] = [uniq("sa"), uniq("sb"), uniq("sn")];
  await ok(["create", "--name", a, "--label", "sys=1", reg.image, "true"]);
  await ok(["create", "--name", b, reg.image, "true"]);
  await ok(["network", "create", net]);
  const bad = await docker(d, ["system", "prune", "-f", "--filter", "bogus=1"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
  assert.ok((await names(["ps", "-a", "--format", "{{.Names}}"])).includes(a));
  const r = await docker(d, ["system", "prune", "-f", "--filter", "label=sys=1"]);
  assert.equal(r.status, 0, r.stderr);
  const left = await names(["ps", "-a", "--format", "{{.Names}}"]);
  assert.ok(!left.includes(a) && left.includes(b));
  assert.ok(
    (await names(["network", "ls", "--format", "{{.Name}}"])).includes(net),
    "unlabelled network kept",
  );
  const builder = await docker(d, ["builder", "prune", "-f", "--filter", "bogus=1"]);
  assert.notEqual(builder.status, 0);
  assert.match(builder.stderr, /invalid filter 'bogus'/);
  await ok(["rm", b]);
  await ok(["network", "rm", net]);
});

test("a pull or tag that moves a name keeps the old image dangling: images -f dangling=true, image prune removes only it", async () => {
  const name = `${new URL(reg.registry.url).host}/moved:1`;
  await pushImage(name, { cmd: ["sh"], labels: { gen: "1" } });
  await ok(["pull", name]);
  const oldId = (await ok(["images", "-q", "--no-trunc", name])).trim();
  await pushImage(name, { cmd: ["sh", "-c", "echo 2"], labels: { gen: "2" } });
  await ok(["pull", name]);
  const newId = (await ok(["images", "-q", "--no-trunc", name])).trim();
  assert.notEqual(oldId, newId);
  assert.deepEqual(await names(["images", "-q", "--no-trunc", "-f", "dangling=true"]), [oldId]);
  const tagged = await names(["images", "-q", "--no-trunc", "-f", "dangling=false"]);
  assert.ok(tagged.includes(newId) && !tagged.includes(oldId));
  assert.match(await ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]), /<none>:<none> /);
  assert.deepEqual(await names(["images", "-q", "--no-trunc", "-f", "label=gen=2"]), [newId]);
  assert.deepEqual(await names(["images", "-q", "--no-trunc", "-f", "reference=*/moved:*"]), [newId]);
  await ok(["image", "inspect", oldId]);
  const bad = await docker(d, ["image", "prune", "-f", "--filter", "bogus=1"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
  await ok(["image", "prune", "-f", "--filter", "label=gen=3"]);
  assert.deepEqual(await names(["images", "-q", "--no-trunc", "-f", "dangling=true"]), [oldId]);
  const pruned = await ok(["image", "prune", "-f"]);
  assert.match(pruned, new RegExp(oldId.replace("sha256:", "")));
  assert.deepEqual(await names(["images", "-q", "-f", "dangling=true"]), []);
  assert.ok((await names(["images", "-q", "--no-trunc"])).includes(newId), "the tagged image stays");
  // A tag moved onto another image leaves the image it named dangling too, as `docker tag` does.
  await ok(["tag", reg.image, name]);
  assert.deepEqual(await names(["images", "-q", "--no-trunc", "-f", "dangling=true"]), [newId]);
  await ok(["image", "prune", "-f"]);
  assert.deepEqual(await names(["images", "-q", "-f", "dangling=true"]), []);
  await ok(["rmi", name]);
});

test("docker ps -l / -n show the latest created containers, stopped ones too; --filter health= is accepted", async () => {
  const [running, created] = [uniq("lr"), uniq("lc")];
  await ok(["run", "-d", "--name", running, reg.image, "sleep", "60"]);
  await ok(["create", "--name", created, reg.image, "true"]);
  assert.deepEqual(await names(["ps", "-l", "--format", "{{.Names}}"]), [created]);
  assert.deepEqual(await names(["ps", "-n", "2", "--format", "{{.Names}}"]), [created, running].sort());
  assert.ok((await names(["ps", "--filter", "health=none", "--format", "{{.Names}}"])).includes(running));
  assert.deepEqual(await names(["ps", "--filter", "health=healthy", "--format", "{{.Names}}"]), []);
  const bad = await docker(d, ["ps", "--filter", "health=sick"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Unrecognised filter value for health: sick/);
  assert.deepEqual(await names(["ps", "-a", "--filter", `since=${running}`, "--format", "{{.Names}}"]), [
    created,
  ]);
  assert.ok(
    (await names(["ps", "-a", "--filter", `before=${created}`, "--format", "{{.Names}}"])).includes(running),
  );
  // pier's CLI: the same list and filters.
  const latest = await pier(d, ["ps", "-l", "--format", "json"]);
  assert.equal(latest.status, 0, latest.stderr);
  assert.deepEqual(
    latest.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { Names: string }).Names),
    [created],
  );
  const byName = await pier(d, ["ps", "-a", "-q", "--filter", `name=${running}`]);
  assert.equal(byName.status, 0, byName.stderr);
  assert.equal(byName.stdout.trim().split("\n").length, 1);
  const badPier = await pier(d, ["ps", "--filter", "bogus=1"]);
  assert.notEqual(badPier.status, 0);
  assert.match(badPier.stderr, /invalid filter 'bogus'/);
  await ok(["rm", "-f", running, created]);
});

test("docker inspect's Config is the image config merged with the request", async () => {
  const name = `${new URL(reg.registry.url).host}/conf:1`;
  await pushImage(name, {
    cmd: ["sh"],
    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FROM_IMAGE=1"],
    workdir: "/tmp",
    labels: { img: "1", both: "image" },
    stopSignal: "SIGQUIT",
  });
  await ok(["pull", name]);
  const c = uniq("ic");
  await ok(["create", "--name", c, "-e", "A=1", "--label", "both=mine", name]);
  const cfg = JSON.parse(await ok(["inspect", "--format", "{{json .Config}}", c])) as Record<string, unknown>;
  assert.deepEqual(cfg.Env, ["A=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FROM_IMAGE=1"]);
  assert.deepEqual(cfg.Cmd, ["sh"]);
  assert.equal(cfg.WorkingDir, "/tmp");
  assert.deepEqual(cfg.Labels, { img: "1", both: "mine" });
  assert.equal(cfg.StopSignal, "SIGQUIT");
  await ok(["rm", c]);
  await ok(["rmi", name]);
});

test("pier CLI: prunes, images, network and volume lists with --filter; unknown filters refused before removal", async () => {
  const [a, b, net, plain] = [uniq("ca"), uniq("cb"), uniq("pn"), uniq("pp")];
  await ok(["create", "--name", a, "--label", "p=1", reg.image, "true"]);
  await ok(["create", "--name", b, reg.image, "true"]);
  await ok(["network", "create", "--label", "p=1", net]);
  await ok(["network", "create", plain]);
  for (const args of [
    ["container", "prune", "-f", "--filter", "bogus=1"],
    ["network", "prune", "-f", "--filter", "bogus=1"],
    ["image", "prune", "-f", "--filter", "bogus=1"],
    ["system", "prune", "-f", "--filter", "bogus=1"],
    ["builder", "prune", "-f", "--filter", "bogus=1"],
    ["images", "--filter", "bogus=1"],
    ["network", "ls", "--filter", "bogus=1"],
    ["volume", "ls", "--filter", "bogus=1"],
  ]) {
    const r = await pier(d, args);
    assert.notEqual(r.status, 0, `pier ${args.join(" ")}`);
    assert.match(r.stderr, /invalid filter 'bogus'/, `pier ${args.join(" ")}`);
  }
  assert.ok((await names(["ps", "-a", "--format", "{{.Names}}"])).includes(a));
  const ls = await pier(d, ["network", "ls", "--filter", "label=p=1", "--format", "json"]);
  assert.equal(ls.status, 0, ls.stderr);
  assert.deepEqual(
    ls.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { Name: string }).Name),
    [net],
  );
  const cp = await pier(d, ["container", "prune", "-f", "--filter", "label=p=1"]);
  assert.equal(cp.status, 0, cp.stderr);
  const left = await names(["ps", "-a", "--format", "{{.Names}}"]);
  assert.ok(!left.includes(a) && left.includes(b));
  const np = await pier(d, ["network", "prune", "-f", "--filter", "label=p=1"]);
  assert.equal(np.status, 0, np.stderr);
  const nets = await names(["network", "ls", "--format", "{{.Name}}"]);
  assert.ok(!nets.includes(net) && nets.includes(plain));
  const imgs = await pier(d, ["images", "--filter", "dangling=false", "-q"]);
  assert.equal(imgs.status, 0, imgs.stderr);
  assert.deepEqual(
    imgs.stdout.split("\n").filter(Boolean).sort(),
    await names(["images", "-q", "-f", "dangling=false"]),
  );
  await ok(["rm", b]);
  await ok(["network", "rm", plain]);
});

test("docker events accepts every documented filter; an unknown one is 400", async () => {
  const since = Math.floor(Date.now() / 1000) - 5;
  const until = Math.floor(Date.now() / 1000) + 1;
  for (const f of ["scope=local", "daemon=x", "service=x", "node=x", "plugin=x", "secret=x", "config=x"]) {
    const r = await docker(d, ["events", "--since", String(since), "--until", String(until), "--filter", f]);
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
  const bad = await docker(d, [
    "events",
    "--since",
    String(since),
    "--until",
    String(until),
    "--filter",
    "bogus=1",
  ]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
});

const api = (method: string, path: string) => socketRequest(d.dockerSocket, method, `/v1.41${path}`);

test("every filter Docker documents for ps, images, volume ls, network ls, events and each prune is accepted; others are 400 naming them", async () => {
  const c = uniq("fw");
  await ok(["create", "--name", c, reg.image, "true"]);
  const image = reg.image;
  // A value of each key that is valid; prunes also carry a label nothing has, so they remove nothing.
  const sample: Record<string, string> = {
    ancestor: image,
    before: c,
    since: c,
    exited: "0",
    expose: "80",
    publish: "8080/tcp",
    health: "healthy",
    id: "abc",
    "is-task": "false",
    isolation: "default",
    label: "pier.test.none",
    "label!": "pier.test.none",
    name: "x",
    network: "bridge",
    status: "running",
    volume: "x",
    dangling: "true",
    reference: "busy*",
    until: "1h",
    driver: "local",
    scope: "local",
    type: "custom",
    all: "false",
    description: "x",
    inuse: "true",
    parent: "x",
    private: "true",
    shared: "true",
    "unused-for": "1h",
  };
  const imageSample = { ...sample, before: image, since: image };
  const now = Math.floor(Date.now() / 1000);
  const endpoints: [keyof typeof FILTER_KEYS, string, string, Record<string, string>][] = [
    ["containerList", "GET", "/containers/json?all=1", sample],
    ["containerPrune", "POST", "/containers/prune", sample],
    ["imageList", "GET", "/images/json", imageSample],
    ["imagePrune", "POST", "/images/prune", sample],
    ["networkList", "GET", "/networks", sample],
    ["networkPrune", "POST", "/networks/prune", sample],
    ["volumeList", "GET", "/volumes", { ...sample, driver: "local" }],
    ["volumePrune", "POST", "/volumes/prune", sample],
    ["builderPrune", "POST", "/build/prune", sample],
    ["events", "GET", `/events?since=${now - 1}&until=${now}`, { ...sample, type: "container" }],
  ];
  for (const [endpoint, method, path, values] of endpoints) {
    const sep = path.includes("?") ? "&" : "?";
    const prune = method === "POST";
    for (const key of FILTER_KEYS[endpoint]) {
      const filters: Record<string, string[]> = { [key]: [values[key] ?? "x"] };
      if (prune && key !== "label") filters.label = ["pier.test.none"];
      const r = await api(method, `${path}${sep}filters=${encodeURIComponent(JSON.stringify(filters))}`);
      assert.equal(r.status, 200, `${endpoint} ${key}: ${r.body}`);
    }
    const bad = await api(method, `${path}${sep}filters=${encodeURIComponent('{"bogus":["1"]}')}`);
    assert.equal(bad.status, 400, `${endpoint} bogus: ${bad.body}`);
    assert.match(bad.body, /invalid filter 'bogus'/);
  }
  assert.ok(
    (await names(["ps", "-a", "--format", "{{.Names}}"])).includes(c),
    "no prune above removed anything",
  );
  await ok(["rm", c]);
});
