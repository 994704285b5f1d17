/**
 * docs/engine-api.yaml against pier's route table: the document parses as YAML, each documented
 * path and method is routed, each route is documented, and each of its local `$ref`s resolves.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { pierRoutes } from "./pier.js";
import { matchRoute } from "./router.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "engine-api.yaml");
const METHODS = ["get", "put", "post", "delete", "head", "patch"];

interface Document {
  paths: Record<string, Record<string, unknown>>;
}

/** A concrete path for a documented template: each `{param}` a value every pattern takes (hex). */
const sample = (template: string) => template.replace(/\{[^}]+\}/g, "ab12");

function documented(doc: Document): [method: string, template: string][] {
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.keys(item)
      .filter((k) => METHODS.includes(k))
      .map((m): [string, string] => [m.toUpperCase(), template]),
  );
}

function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refs(x, out);
  else if (typeof v === "object" && v !== null)
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string") out.push(x);
      else refs(x, out);
    }
  return out;
}

describe("docs/engine-api.yaml", () => {
  const doc = parse(readFileSync(DOC, "utf8")) as Document;

  test("documents only routed endpoints", () => {
    for (const [method, template] of documented(doc))
      assert.ok(matchRoute(pierRoutes, method, sample(template)), `${method} ${template} is not routed`);
  });

  test("documents every route", () => {
    const docs = documented(doc);
    for (const [method, pattern] of pierRoutes)
      assert.ok(
        docs.some(([m, t]) => m === method && pattern.test(sample(t))),
        `${method} ${pattern.source} is not documented`,
      );
  });

  test("the checkpoint endpoints are there (docker checkpoint, archives, images, migration)", () => {
    const docs = documented(doc).map(([m, t]) => `${m} ${t}`);
    for (const e of [
      "POST /containers/{ref}/checkpoints",
      "GET /containers/{ref}/checkpoints",
      "DELETE /containers/{ref}/checkpoints/{name}",
      "POST /containers/{ref}/checkpoints/{name}/restore",
      "GET /containers/{ref}/checkpoints/{name}/export",
      "POST /containers/import",
      "POST /containers/restore",
      "POST /containers/{ref}/migrate",
    ])
      assert.ok(docs.includes(e), `${e} is missing`);
    const start = doc.paths["/containers/{ref}/start"]?.post as { parameters?: { name: string }[] };
    assert.deepEqual(
      (start.parameters ?? []).map((p) => p.name),
      ["checkpoint", "checkpoint-dir"],
    );
  });

  test("each $ref resolves", () => {
    for (const ref of refs(doc)) {
      assert.match(ref, /^#\//, ref);
      let at: unknown = doc;
      for (const key of ref.slice(2).split("/")) at = (at as Record<string, unknown> | undefined)?.[key];
      assert.ok(at !== undefined, `${ref} does not resolve`);
    }
  });
});
