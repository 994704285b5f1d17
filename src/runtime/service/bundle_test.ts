/**
 * The runtime service as one script (`scripts/bundle-service.mjs`, `scripts/service-loader.cjs`):
 * a bundle behaves as its ES modules do (cycles, dynamic imports, `import.meta.url`), what it
 * cannot bundle faithfully is refused by name, the front end starts the bundled service (or its ES
 * modules when the bundle is missing or older than they are), and its code cache is written only where
 * nobody else can write, never taken from such a place, and a broken or foreign cache does not
 * keep the service from answering.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { YOUNG_GENERATION_CAP_FLAG } from "../../common/lean-heap.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { FRONT_END_PATH, servicePidsOn } from "../../testing/runtime.js";

const BUNDLER = fileURLToPath(new URL("../../../scripts/bundle-service.mjs", import.meta.url));
const SERVICE = fileURLToPath(new URL("./service.cjs", import.meta.url));
const BUNDLE = fileURLToPath(new URL("./bundle.cjs", import.meta.url));

let tmp = "";

before(async () => {
  tmp = await makeTempDir("pier-bundle-");
  chmodSync(tmp, 0o700);
});

after(async () => {
  await removeTempDir(tmp);
});

/** Writes `files` (path -> source) under a fresh directory; returns it. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [path, src] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), src);
  }
  return dir;
}

function bundle(entry: string) {
  return spawnSync(process.execPath, [BUNDLER, entry], { encoding: "utf8" });
}

test("a bundle runs as its ES modules do: cycles, dynamic imports, import.meta.url, node: built-ins", () => {
  const dir = tree("good", {
    "svc/entry.js": [
      'import { basename } from "node:path";',
      'import { a } from "../lib/a.js";',
      'import * as b from "../lib/b.js";',
      // Characters beyond ASCII, which the bundle writes as escapes, in each kind of literal.
      'const wide = ["… → 😀", `t…\\u0031`, /[…]/.test("x…"), /😀/u.test("😀")];',
      "console.log(JSON.stringify([a(), b.viaA(), basename(new URL(import.meta.url).pathname), wide]));",
      'import("../lib/lazy.js").then((m) => console.log(m.default, m.loadedAfter()));',
    ].join("\n"),
    "lib/a.js": 'import { b } from "./b.js";\nexport function a() { return "a" + b(); }\n',
    "lib/b.js":
      'import { a } from "./a.js";\nexport const b = () => "b";\nexport function viaA() { return a(); }\n',
    "lib/lazy.js": [
      'import { b } from "./b.js";',
      'export default import.meta.url.endsWith("/lib/lazy.js");',
      "export const loadedAfter = () => b();",
    ].join("\n"),
  });
  const entry = join(dir, "svc", "entry.js");
  const want = spawnSync(process.execPath, [entry], { encoding: "utf8" });
  assert.equal(want.status, 0, want.stderr);
  assert.equal(want.stdout, '["ab","ab","entry.js",["… → 😀","t…1",true,true]]\ntrue b\n');
  const r = bundle(entry);
  assert.equal(r.status, 0, r.stderr);
  const got = spawnSync(process.execPath, [join(dir, "svc", "bundle.cjs")], { encoding: "utf8" });
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.stdout, want.stdout);
});

test("what a bundle cannot do as dist/ does is refused, naming the module", () => {
  const cases: [string, string, RegExp][] = [
    [
      "pkg",
      'import { x } from "some-package";\nconsole.log(x);\n',
      /entry\.js: imports the package "some-package"/,
    ],
    ["computed", "const m = 'x.js';\nimport(m);\n", /entry\.js: import\(\) with a computed specifier/],
    ["meta", "console.log(import.meta.dirname);\n", /entry\.js: import\.meta other than import\.meta\.url/],
    ["await", "const x = await Promise.resolve(1);\nconsole.log(x);\n", /entry\.js: top-level await/],
    ["missing", 'import "./gone.js";\n', /gone\.js: ENOENT/],
  ];
  for (const [name, src, why] of cases) {
    const dir = tree(name, { "entry.js": src });
    const r = bundle(join(dir, "entry.js"));
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.equal(existsSync(join(dir, "bundle.cjs")), false, `${name}: no bundle written`);
  }
});

/** Starts the bundled service on `socket` as the front end does; resolves once it listens. */
async function startService(socket: string, extraFlags: string[] = [YOUNG_GENERATION_CAP_FLAG]) {
  const child = spawn(process.execPath, [...extraFlags, SERVICE, "--socket", socket], {
    stdio: "ignore",
    env: { ...process.env, PIER_RUNTIME_SERVICE_IDLE_MS: "60000" },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((res) => {
      const s = connect(socket);
      s.on("connect", () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (up) return child;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error("the bundled service did not listen");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `pier-runtime --version` through the front end against `socket`. */
function version(socket: string) {
  return spawnSync(FRONT_END_PATH, ["--version"], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      PIER_RUNTIME_SERVICE_SOCKET: socket,
      PIER_RUNTIME_SERVICE_IDLE_MS: "60000",
    },
  });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  await exited;
}

test("the front end starts the bundled service; it leaves its code cache, private, naming the bundle", async () => {
  const dir = join(tmp, "fe");
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, "s.sock");
  const v = version(socket);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^pier-runtime version/);
  const [pid] = servicePidsOn(socket);
  assert.ok(pid, "the service runs");
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  assert.ok(argv.includes(YOUNG_GENERATION_CAP_FLAG), argv.join(" "));
  assert.equal(realpathSync(argv.find((a) => a.endsWith(".cjs")) ?? ""), realpathSync(SERVICE));
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 300 && !existsSync(`${socket}.code-cache`); i++)
    await new Promise((r) => setTimeout(r, 20));
  const st = statSync(`${socket}.code-cache`);
  assert.equal(st.mode & 0o777, 0o600);
  const b = statSync(BUNDLE);
  const head = readFileSync(`${socket}.code-cache`).subarray(0, 200).toString("latin1").split("\n")[0];
  assert.equal(head, `pier-code-cache ${b.size} ${b.mtimeMs} ${b.ino}`);
  // The next service starts from it and answers.
  const again = version(socket);
  assert.equal(again.status, 0, again.stderr);
  for (const p of servicePidsOn(socket)) process.kill(p, "SIGTERM");
});

test("a broken or foreign cache is not trusted: the service still answers; others' directories get none", async () => {
  // Bytes V8 refuses, under the right header: compiled as usual.
  const dir = join(tmp, "broken");
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, "s.sock");
  const b = statSync(BUNDLE);
  writeFileSync(`${socket}.code-cache`, `pier-code-cache ${b.size} ${b.mtimeMs} ${b.ino}\nnot bytecode`, {
    mode: 0o600,
  });
  let child = await startService(socket);
  assert.equal(version(socket).status, 0);
  await stop(child);
  assert.doesNotMatch(
    readFileSync(`${socket}.code-cache`, "latin1"),
    /not bytecode/,
    "replaced by a real one",
  );

  // A directory others can write to: no cache is read or written there.
  const open = join(tmp, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  const openSocket = join(open, "s.sock");
  writeFileSync(`${openSocket}.code-cache`, "planted", { mode: 0o600 });
  child = await startService(openSocket);
  assert.equal(version(openSocket).status, 0);
  await stop(child);
  assert.equal(readFileSync(`${openSocket}.code-cache`, "utf8"), "planted", "neither used nor replaced");

  // A cache file others can write to, in a private directory: replaced by the service's own, private.
  const dir2 = join(tmp, "writable-file");
  mkdirSync(dir2, { mode: 0o700 });
  const socket2 = join(dir2, "s.sock");
  writeFileSync(`${socket2}.code-cache`, `pier-code-cache ${b.size} ${b.mtimeMs} ${b.ino}\nplanted`);
  chmodSync(`${socket2}.code-cache`, 0o666);
  child = await startService(socket2);
  assert.equal(version(socket2).status, 0);
  await stop(child);
  assert.equal(statSync(`${socket2}.code-cache`).mode & 0o777, 0o600);

  // Started without the flag on the command line (the flag is then set at run time, which voids
  // a cache): it answers and writes none.
  const dir3 = join(tmp, "no-flag");
  mkdirSync(dir3, { mode: 0o700 });
  const socket3 = join(dir3, "s.sock");
  child = await startService(socket3, []);
  assert.equal(version(socket3).status, 0);
  await stop(child);
  assert.equal(existsSync(`${socket3}.code-cache`), false);
});

test("a bundle older than the compiled modules (tsc ran again, the bundler not): the ES modules serve", async (t) => {
  const entry = fileURLToPath(new URL("./bundle-main.js", import.meta.url));
  const was = statSync(entry);
  const later = new Date(statSync(BUNDLE).mtimeMs + 60_000);
  utimesSync(entry, later, later);
  t.after(() => utimesSync(entry, was.atime, was.mtime));
  const dir = join(tmp, "stale");
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, "s.sock");
  const child = await startService(socket);
  const v = version(socket);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^pier-runtime version/);
  await stop(child);
  // The bundled service would have left its code cache.
  assert.equal(existsSync(`${socket}.code-cache`), false);
});

test("a missing bundle beside the loader: the ES modules serve", async (t) => {
  const aside = `${BUNDLE}.aside`;
  renameSync(BUNDLE, aside);
  t.after(() => renameSync(aside, BUNDLE));
  const dir = join(tmp, "no-bundle");
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, "s.sock");
  const child = await startService(socket);
  const v = version(socket);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^pier-runtime version/);
  await stop(child);
  assert.equal(existsSync(`${socket}.code-cache`), false);
});

test("a caller's NODE_OPTIONS does not become the service's, which serves every later caller", () => {
  const dir = join(tmp, "node-options");
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, "s.sock");
  const marker = join(dir, "required");
  writeFileSync(join(dir, "hook.cjs"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "");\n`);
  const v = spawnSync(FRONT_END_PATH, ["--version"], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      PIER_RUNTIME_SERVICE_SOCKET: socket,
      NODE_OPTIONS: `--require=${join(dir, "hook.cjs")}`,
    },
  });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^pier-runtime version/);
  const pids = servicePidsOn(socket);
  assert.equal(pids.length, 1, "the service answered");
  for (const p of pids) process.kill(p, "SIGTERM");
  assert.equal(existsSync(marker), false, "the service did not load the caller's --require");
});
