// Generated: copied by scripts/bundle-service.mjs from scripts/service-loader.cjs (edit that).
// Starts a resident service from its one-script bundle (`bundle.cjs` beside this file) and
// compiles it with V8's code cache of an earlier run of the same bundle:
//   node --max-semi-space-size=1 service.cjs --socket PATH --ready-fd 3    (what the front end runs)
// The cache is PATH.code-cache: written when a service leaves (it then holds the bytecode of
// every function it and the services before it ran), read by the next one. It is the bytecode the next service
// runs, so it is used only from a directory of this user's own that nobody else can write to, as
// a regular file of this user's that nobody else can write to; its first line names the bundle it
// was made from (size, modification time, inode), and V8 refuses one of another Node.js or of
// other V8 flags (`cachedDataRejected`). Without a usable cache the bundle is compiled as usual;
// a bundle missing or older than the modules it was made from is not run (the ES modules are).
"use strict";
const fs = require("node:fs");
const { dirname, join } = require("node:path");
const { Script } = require("node:vm");

// The resident services' young-generation cap (src/common/lean-heap.ts). A V8 flag set at run
// time changes the flag hash that a code cache is checked against; on the command line it is
// part of every run alike: so the front end passes YOUNG_GENERATION_CAP_FLAG there, and a
// service started without it gets the run-time cap and writes no cache.
const leanFromCommandLine = process.execArgv.includes("--max-semi-space-size=1");
const capAtRunTime = () => require("node:v8").setFlagsFromString("--semi-space-growth-factor=1");

const bundle = join(__dirname, "bundle.cjs");

/** The bundle's stat, or undefined when it is missing or older than the modules it was made from. */
function currentBundle() {
  try {
    const st = fs.statSync(bundle);
    // Older: `tsc` ran again and the bundler did not; the bundle would serve old code.
    return fs.statSync(join(__dirname, "bundle-main.js")).mtimeMs > st.mtimeMs ? undefined : st;
  } catch {
    return undefined;
  }
}

const bundleStat = currentBundle();
if (!bundleStat) {
  // The service from its ES modules (their entry caps the young generation itself).
  import("./main.js");
  return;
}

const source = fs.readFileSync(bundle, "utf8");
const identity = `pier-code-cache ${bundleStat.size} ${bundleStat.mtimeMs} ${bundleStat.ino}\n`;

const at = process.argv.indexOf("--socket");
const socket = at > 0 ? process.argv[at + 1] : undefined;
const cacheFile = socket ? `${socket}.code-cache` : undefined;

/** True when `st` is this user's and nobody else can write to it. */
function ownAndPrivate(st) {
  return st.uid === process.geteuid() && (st.mode & 0o022) === 0;
}

/** Whether the cache's directory may hold this service's bytecode (see the header). */
function safeDirectory() {
  try {
    const st = fs.lstatSync(dirname(cacheFile));
    return st.isDirectory() && ownAndPrivate(st);
  } catch {
    return false;
  }
}

/** The cached bytecode for this bundle, or undefined. */
function readCache() {
  let fd;
  try {
    fd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_CLOEXEC);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ownAndPrivate(st)) return undefined;
    const data = fs.readFileSync(fd);
    const head = Buffer.from(identity);
    if (data.length <= head.length || !data.subarray(0, head.length).equals(head)) return undefined;
    return data.subarray(head.length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const useCache = cacheFile !== undefined && safeDirectory();
const cachedData = useCache ? readCache() : undefined;
const script = new Script(`(function (require, module, exports, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  ...(cachedData ? { cachedData } : {}),
});
if (!leanFromCommandLine) capAtRunTime();

// Written again by every service that leaves: it then holds what this one compiled too.
if (useCache && leanFromCommandLine) {
  process.on("exit", () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      // Not for a bundle that changed meanwhile (a rebuild: this service is stale).
      const now = fs.statSync(bundle);
      if (now.size !== bundleStat.size || now.mtimeMs !== bundleStat.mtimeMs || now.ino !== bundleStat.ino) return;
      fs.writeFileSync(tmp, Buffer.concat([Buffer.from(identity), script.createCachedData()]), {
        flag: "wx",
        mode: 0o600,
      });
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  });
}

script.runInThisContext()(require, module, exports, bundle, __dirname);
