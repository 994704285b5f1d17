/**
 * Walks docs/docker-api-fields.md against a test pierd: each refused field of a create or
 * update request, set to its sample, gets 400 naming it, and nothing is created.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BusyboxRegistry, docker, type TestDaemon, useTestDaemon } from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  pull: true,
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "docker-api-fields.md");

interface Row {
  section: string;
  path: string;
  status: string;
  sample: unknown;
}

/** The rows of the doc's tables. */
function rows(): Row[] {
  let section = "";
  const out: Row[] = [];
  for (const line of readFileSync(DOC, "utf8").split("\n")) {
    if (line.startsWith("## ")) section = line.slice(3);
    const m = /^\| `([^`]+)` \| (applied|refused) \| (?:`(.*)`)? \|/.exec(line);
    if (m)
      out.push({
        section,
        path: m[1] as string,
        status: m[2] as string,
        sample: m[3] ? JSON.parse(m[3]) : undefined,
      });
  }
  return out;
}

async function post(path: string, body: unknown): Promise<{ status: number; message: string }> {
  const r = await socketRequest(d.dockerSocket, "POST", path, JSON.stringify(body), {
    "Content-Type": "application/json",
  });
  return { status: r.status, message: r.body };
}

function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const b = structuredClone(body);
  const [root, ...rest] = path.split(".");
  if (root !== "Config" && typeof b[root as string] !== "object") b[root as string] = {};
  let o = (root === "Config" ? b : b[root as string]) as Record<string, unknown>;
  const keys = rest.map((k) => (k === "*" ? "bridge" : k));
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1) as string] = value;
  return b;
}

test("every refused field of the list gets 400 naming it, at create and at update", async () => {
  const all = rows();
  const create = all.filter((r) => r.section.startsWith("POST /containers/create"));
  const update = all.filter((r) => r.section.startsWith("POST /containers/{id}/update"));
  assert.ok(
    create.length > 90 && update.length > 20,
    `${create.length} create rows, ${update.length} update rows`,
  );
  const base = { Image: reg.image, Cmd: ["true"] };
  for (const r of create.filter((r) => r.status === "refused")) {
    const res = await post("/v1.41/containers/create", withField(base, r.path, r.sample));
    assert.equal(res.status, 400, `${r.path}: ${res.message}`);
    assert.ok(res.message.includes(r.path), `${r.path}: ${res.message}`);
  }
  assert.equal((await docker(d, ["ps", "-aq"])).stdout.trim(), "", "nothing was created");
  const made = await post("/v1.41/containers/create?name=walk", base);
  assert.equal(made.status, 201, made.message);
  for (const r of update.filter((r) => r.status === "refused")) {
    const res = await post("/v1.41/containers/walk/update", {
      [r.path.slice("HostConfig.".length)]: r.sample,
    });
    assert.equal(res.status, 400, `${r.path}: ${res.message}`);
    assert.ok(res.message.includes(r.path), `${r.path}: ${res.message}`);
  }
  const ok = await post("/v1.41/containers/walk/update", { Memory: 64 * 1024 * 1024, PidsLimit: 10 });
  assert.equal(ok.status, 200, ok.message);
  await docker(d, ["rm", "-f", "walk"]);
});
