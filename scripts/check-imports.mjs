#!/usr/bin/env node
// The import-direction check of `npm run lint`: a file of one layer of the README's Layout table
// imports only from its own layer or the layers below it (oci < content < layer < image <
// remote < trust < registry < runtime < build < engine < cli). `src/errors.ts` and `src/common/` sit
// under every layer. Tests and `src/testing/` (test fixtures) may import any layer, and only they
// may import the fixtures. `layer`, `remote` and `registry` are imported through their
// `index.ts` only (their public API) by every other layer's sources; the CLI imports only the
// engine's model files (ENGINE_MODELS). Exits 1 naming every wrong import; prints nothing when
// there is none.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(dirname(new URL(import.meta.url).pathname), "..", "src");

/** Rank of each top-level folder (file) of src/: lower ranks are lower layers. */
const RANK = {
  "errors.ts": 0,
  common: 0,
  oci: 1,
  content: 2,
  layer: 3,
  image: 4,
  remote: 5,
  // Signatures and policies: written against the registry client, used by the registry server.
  trust: 6,
  registry: 7,
  runtime: 8,
  // Dockerfile builds: run steps through the runtime, used by the engine (POST /build) and the CLI.
  build: 9,
  engine: 10,
  cli: 11,
};
const TESTING = "testing";
/**
 * The engine's files that carry no server code (models, grammars, reports): all the CLI may
 * import of the engine, so that it never loads daemon internals.
 */
const ENGINE_MODELS = new Set([
  "engine/reports.ts",
  "engine/stats-document.ts",
  "engine/network/view.ts",
  "engine/network/ports.ts",
  "engine/containers/mount-spec.ts",
  "engine/containers/status-text.ts",
  "engine/network/error.ts",
  "engine/error.ts",
]);
/**
 * Layers whose `index.ts` is their public API (package.json `exports`): other layers import that
 * file only. (`trust` has an index too, but the registry imports its pure verification files on
 * purpose, without the client code the index loads.)
 */
const PUBLIC = new Set(["layer", "remote", "registry"]);

function* sourceFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

/** The top-level folder of `file` under src/. */
function layerOf(file) {
  return relative(SRC, file).split("/")[0];
}

const isTest = (file) => file.endsWith("_test.ts");
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)"|\bimport\(\s*"(\.[^"]+)"\s*\)|(?:^|\n)\s*import\s+"(\.[^"]+)"/g;

const problems = [];
for (const file of sourceFiles(SRC)) {
  const from = layerOf(file);
  if (!(from in RANK) && from !== TESTING) {
    problems.push(`${relative(SRC, file)}: folder src/${from} has no place in the layer table (scripts/check-imports.mjs)`);
    continue;
  }
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(`${SRC}/`)) continue;
    const to = layerOf(target);
    if (to === from) continue;
    if (to === TESTING) {
      if (!isTest(file) && from !== TESTING)
        problems.push(`${relative(SRC, file)}: imports the test fixtures ${relative(SRC, target)} outside a test`);
      continue;
    }
    // Fixtures, and tests (a client's test runs the server), may use any layer.
    if (from === TESTING || isTest(file)) continue;
    if (!(to in RANK)) continue;
    if (RANK[to] > RANK[from])
      problems.push(`${relative(SRC, file)}: imports ${relative(SRC, target)} (layer ${to} is above ${from})`);
    else if (!isTest(file) && from === "cli" && to === "engine" && !ENGINE_MODELS.has(relative(SRC, target).replace(/\.js$/, ".ts")))
      problems.push(`${relative(SRC, file)}: imports ${relative(SRC, target)}, which is not one of the engine's models (scripts/check-imports.mjs ENGINE_MODELS)`);
    else if (!isTest(file) && PUBLIC.has(to) && relative(SRC, target) !== `${to}/index.js`)
      problems.push(`${relative(SRC, file)}: imports ${relative(SRC, target)}, not the public API src/${to}/index.ts`);
  }
}
if (problems.length) {
  process.stderr.write(`imports against the layering (README: Layout):\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}
