#!/usr/bin/env node
// Whether the build (dist/ and native/build/) is that of the sources as they are now, so that
// `npm test` right after `scripts/install.sh` does not build again. The stamp is a hash of every
// build input's path, size and modification time (src/, native/*.c|*.h|*.sh, package.json,
// package-lock.json, tsconfig.json, the service bundler's two scripts) and of the Node.js that
// built it.
//   node scripts/build-stamp.mjs write   after a build: records the inputs
//   node scripts/build-stamp.mjs check   exit 0 when the build is current, 1 (saying why) when not
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const STAMP = join(ROOT, "dist", ".build-stamp");
const OUTPUTS = [
  "dist/cli/pier.js",
  "dist/runtime/service/bundle.cjs",
  "dist/runtime/service/service.cjs",
  "native/build/pier-init",
  "native/build/pier",
  "native/build/pier-runtime",
];

function* files(dir, keep) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "build" && e.name !== "node_modules") yield* files(p, keep);
    } else if (keep(e.name)) yield p;
  }
}

function fingerprint() {
  const inputs = [
    ...files(join(ROOT, "src"), () => true),
    ...files(join(ROOT, "native"), (n) => /\.(c|h|sh)$/.test(n)),
    ...["package.json", "package-lock.json", "tsconfig.json"].map((f) => join(ROOT, f)),
    // What makes the runtime service's bundle from dist/ (see bundle-service.mjs).
    ...["scripts/bundle-service.mjs", "scripts/service-loader.cjs"].map((f) => join(ROOT, f)),
  ].sort();
  const h = createHash("sha256").update(`${process.execPath} ${process.version}\n`);
  for (const f of inputs) {
    const st = statSync(f);
    h.update(`${relative(ROOT, f)} ${st.size} ${st.mtimeMs}\n`);
  }
  return h.digest("hex");
}

const mode = process.argv[2];
if (mode === "write") {
  writeFileSync(STAMP, `${fingerprint()}\n`);
} else if (mode === "check") {
  const missing = OUTPUTS.find((o) => !existsSync(join(ROOT, o)));
  const recorded = existsSync(STAMP) ? readFileSync(STAMP, "utf8").trim() : "";
  const why = missing
    ? `${missing} is missing`
    : !recorded
      ? "no build recorded"
      : recorded !== fingerprint()
        ? "sources changed since the last build"
        : "";
  if (why) {
    process.stderr.write(`build needed: ${why}\n`);
    process.exit(1);
  }
  process.stderr.write("build is current (sources unchanged since the last `npm run build`)\n");
} else {
  process.stderr.write("usage: build-stamp.mjs write|check\n");
  process.exit(2);
}
