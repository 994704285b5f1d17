/**
 * Test fixture: an OCI image layout made by `umoci` (not by pier), for interop tests that check
 * pier reads what the established tools write. Not part of the library API.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Runs an external tool and returns its stdout. A missing tool fails with a message naming the
 * Debian package to install; a failing one with its stderr.
 */
export async function runTool(bin: string, args: string[], debianPackage = bin): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, args, { maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new Error(`${bin} is missing: install it (apt-get install -y ${debianPackage})`);
    throw new Error(`${bin} ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

/** What {@link writeUmociImage} puts in the image. */
export interface UmociImageOptions {
  /** Files of the single layer, path inside the image -> content. */
  files?: Record<string, string>;
  /** Extra `umoci config` flags, e.g. `["--config.user", "web"]`. */
  config?: string[];
  /** Tag (default `t`). */
  tag?: string;
}

/**
 * Creates `<dir>/layout` with `umoci init` + `new`, inserts `files` as one layer and applies
 * `config`. Returns the layout path; the image is `<layout>:<tag>`.
 */
export async function writeUmociImage(dir: string, options: UmociImageOptions = {}): Promise<string> {
  const layout = join(dir, "layout");
  const image = `${layout}:${options.tag ?? "t"}`;
  await runTool("umoci", ["init", "--layout", layout]);
  await runTool("umoci", ["new", "--image", image]);
  if (options.files && Object.keys(options.files).length > 0) {
    const src = join(dir, "layer-src");
    for (const [path, content] of Object.entries(options.files)) {
      await mkdir(join(src, path, ".."), { recursive: true });
      await writeFile(join(src, path), content);
    }
    await runTool("umoci", ["insert", "--image", image, src, "/"]);
  }
  if (options.config?.length) await runTool("umoci", ["config", "--image", image, ...options.config]);
  return layout;
}
