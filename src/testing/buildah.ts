/**
 * Debian's Buildah 1.28 as the peer of pier's builder (tests and bench/build): its own storage
 * in a temp directory, and the `containers.conf` it needs on this host (`default_ulimits` that
 * root without CAP_SYS_RESOURCE may set, and runc, since crun rejects this host's cgroup
 * layout). Not part of the library API.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { importArchive } from "../image/archive/import-archive.js";
import type { ImageStore } from "../image/image-store.js";
import { type CommandResult, runCommand } from "./engine.js";
import { requireTool } from "./runtime.js";

/** A buildah with private storage. */
export interface Buildah {
  dir: string;
  /** Runs `buildah ARGS` with the private storage and config. */
  run(args: string[], timeout?: number): Promise<CommandResult>;
  /** `buildah bud --layers --format docker` of `context`, tagged `tag`; throws with its output on failure. */
  bud(context: string, tag: string, extra?: string[]): Promise<CommandResult>;
  /** Copies image `tag` into pier's `store` under `name` (through a docker archive). */
  exportTo(tag: string, store: ImageStore, name: string): Promise<void>;
}

/** A buildah whose storage lives under `dir`. */
export async function useBuildah(dir: string): Promise<Buildah> {
  const bin = requireTool("buildah", "buildah");
  await mkdir(dir, { recursive: true });
  const conf = join(dir, "containers.conf");
  await writeFile(
    conf,
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n',
  );
  const run = (args: string[], timeout = 300000) =>
    runCommand(
      bin,
      ["--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "overlay", ...args],
      { env: { ...process.env, CONTAINERS_CONF: conf }, timeout },
    );
  const ok = async (args: string[]) => {
    const r = await run(args);
    if (r.status !== 0) throw new Error(`buildah ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  };
  return {
    dir,
    run,
    bud: (context, tag, extra = []) =>
      ok(["bud", "--layers", "--format", "docker", "--tls-verify=false", "-t", tag, ...extra, context]),
    exportTo: async (tag, store, name) => {
      const archive = join(dir, `${tag.replace(/[^a-z0-9]/gi, "_")}.tar`);
      await ok(["push", tag, `docker-archive:${archive}:${name}`]);
      await importArchive(archive, store.content, store.layout, { name });
    },
  };
}
