/**
 * Locates files of this test-data folder from compiled tests, which run from `dist/` or a
 * build directory where the non-TypeScript files (JSON, C) are not copied. Tests only.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const RELATIVE = join("src", "runtime", "seccomp", "testdata");

/** Absolute path of `name` in `src/runtime/seccomp/testdata`, found by walking up from here. */
export function seccompTestdata(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, RELATIVE, name);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`test data ${join(RELATIVE, name)} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
