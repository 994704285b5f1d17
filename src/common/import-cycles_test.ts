/**
 * The built modules import one another without a cycle: a cycle makes load order decide which
 * binding is still undefined, and every cycle found so far (the daemon and the CRI's streaming
 * server) was an import pointing up the layers of DESIGN.md. Read from dist/, where type-only
 * imports are already gone, so only imports that load code count.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every non-test module under dist/ with the relative modules it imports statically. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".js") && !e.name.endsWith("_test.js")) {
        const text = readFileSync(path, "utf8");
        const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?["'](\.{1,2}\/[^"']+)["'];?$/gms)].map(
          (m) => resolve(dirname(path), m[1]!),
        );
        graph.set(path, deps);
      }
    }
  };
  walk(DIST);
  return graph;
}

/** One cycle through `graph`, as module paths relative to dist/, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (v: string): string[] | undefined => {
    state.set(v, "open");
    path.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (state.get(w) === "open") return [...path.slice(path.indexOf(w)), w];
      if (!state.has(w)) {
        const found = visit(w);
        if (found) return found;
      }
    }
    path.pop();
    state.set(v, "done");
    return undefined;
  };
  for (const v of graph.keys()) {
    if (state.has(v)) continue;
    const found = visit(v);
    if (found) return found.map((p) => relative(DIST, p));
  }
  return undefined;
}

test("the import graph of dist/ has no cycle", () => {
  const graph = importGraph();
  assert.ok(graph.size > 300, `only ${graph.size} modules found under ${DIST}`);
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle: ${cycle?.join(" -> ")}`);
});

test("the cycle finder sees a cycle of three", () => {
  const g = new Map([
    ["/a", ["/b"]],
    ["/b", ["/c"]],
    ["/c", ["/a"]],
    ["/d", ["/a"]],
  ]);
  assert.deepEqual(
    findCycle(g)?.map((p) => p.replace(/^.*\//, "")),
    ["a", "b", "c", "a"],
  );
  assert.equal(
    findCycle(
      new Map([
        ["/a", ["/b"]],
        ["/b", []],
      ]),
    ),
    undefined,
  );
});
