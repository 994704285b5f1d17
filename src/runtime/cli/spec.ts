/**
 * `spec`: writes the default `config.json` into a bundle, refusing to overwrite one (as runc).
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultRuntimeSpec, formatSpec } from "../../oci/runtime-spec/default-spec.js";
import { RuntimeError } from "../error.js";

/** Writes `<bundle>/config.json`; throws `INVALID_ARGUMENT` when it exists. */
export async function writeSpecFile(bundle: string, rootless: boolean): Promise<void> {
  const file = join(bundle, "config.json");
  if (existsSync(file))
    throw new RuntimeError("INVALID_ARGUMENT", "File config.json exists. Remove it first");
  await writeFile(file, formatSpec(defaultRuntimeSpec({ rootless })), { mode: 0o666 });
}
