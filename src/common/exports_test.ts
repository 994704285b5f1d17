/**
 * package.json `exports`: every public entry point resolves by the package's own name (as a
 * program that installed pier imports it), carries its declarations, and exposes the functions
 * the README shows.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
};

const EXPECTED: Record<string, string[]> = {
  "./layer": ["applyLayer", "packDirectory", "packToStore", "diffDirectories", "readTar"],
  "./remote": ["pull", "push", "copy", "copyImage", "login", "listTags", "inspectManifest"],
  "./registry": ["startRegistry", "loadRegistryConfig", "registryGc", "htpasswdSet"],
};

test("every export resolves by package name with its declarations and API", async () => {
  for (const [sub, names] of Object.entries(EXPECTED)) {
    const entry = pkg.exports[sub];
    assert.ok(entry && typeof entry === "object", `exports["${sub}"] missing`);
    assert.ok(existsSync(join(ROOT, entry.types)), `${entry.types} not built`);
    const specifier = `${pkg.name}/${sub.slice(2)}`;
    const mod = (await import(specifier)) as Record<string, unknown>;
    for (const n of names) assert.equal(typeof mod[n], "function", `${specifier} lacks ${n}`);
  }
});

test("an inner module is not reachable by package name", async () => {
  await assert.rejects(import(`${pkg.name}/remote/pull.js`), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
});
