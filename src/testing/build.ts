/**
 * Helpers for the builder's tests (not part of the library API): a busybox image in a test
 * registry on loopback, a fresh store that pulls from it, and a build call that writes the
 * Dockerfile and context files and collects the progress events.
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type BuildEvent, type BuildImageOptions, type BuildResult, buildImage } from "../build/builder.js";
import { ImageStore } from "../image/image-store.js";
import { pull } from "../remote/index.js";
import { makeTempDir, removeTempDir } from "./busybox.js";
import { type BusyboxRegistry, busyboxRegistry } from "./engine.js";

/** A context: file name → content, content and mode, or a symlink's target. */
export type ContextFiles = Record<
  string,
  string | { content: string | Buffer; mode: number } | { symlink: string }
>;

/** A store, a work directory and a registry serving busybox. */
export interface BuildFixture {
  store: ImageStore;
  work: string;
  /** `127.0.0.1:PORT/busybox:latest`. */
  busybox: string;
  registry: BusyboxRegistry;
  /** Writes `files` into a fresh context directory and builds it. */
  build(
    dockerfile: string,
    files?: ContextFiles,
    options?: Partial<BuildImageOptions>,
  ): Promise<BuildResult & { events: BuildEvent[]; output: string; context: string }>;
  /** Builds again from an existing context directory. */
  rebuild(
    context: string,
    dockerfile: string,
    options?: Partial<BuildImageOptions>,
  ): Promise<BuildResult & { events: BuildEvent[]; output: string; context: string }>;
  close(): Promise<void>;
}

/** Writes `files` under `dir`. */
export async function writeContext(dir: string, files: ContextFiles): Promise<void> {
  for (const [name, v] of Object.entries(files)) {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    if (typeof v === "string") await writeFile(p, v);
    else if ("symlink" in v) await symlink(v.symlink, p);
    else await writeFile(p, v.content, { mode: v.mode });
  }
}

/** Starts the registry and opens a store in a temp directory. */
export async function buildFixture(): Promise<BuildFixture> {
  const registry = await busyboxRegistry();
  const work = await makeTempDir("pier-build-");
  const store = await ImageStore.open(join(work, "store"));
  let n = 0;
  const rebuild: BuildFixture["rebuild"] = async (context, dockerfile, options = {}) => {
    const events: BuildEvent[] = [];
    const result = await buildImage({
      store,
      buildRoot: join(work, "store", "build"),
      context,
      // As `pier build DIR` does.
      contextHashCache: true,
      dockerfile: { text: dockerfile, name: "Dockerfile" },
      pull: async (ref) => {
        await pull(ref, { storeRoot: store.root, insecure: true });
      },
      progress: (e) => events.push(e),
      ...options,
    });
    const output = events
      .filter((e): e is Extract<BuildEvent, { kind: "output" }> => e.kind === "output")
      .map((e) => e.data.toString())
      .join("");
    return { ...result, events, output, context };
  };
  return {
    store,
    work,
    busybox: registry.image,
    registry,
    rebuild,
    build: async (dockerfile, files = {}, options = {}) => {
      const context = join(work, `ctx-${++n}`);
      await mkdir(context);
      await writeContext(context, files);
      return rebuild(context, dockerfile, options);
    },
    close: async () => {
      await registry.stop();
      await removeTempDir(work);
    },
  };
}

/** How many steps of a build were cache hits. */
export function cachedSteps(events: readonly BuildEvent[]): number {
  return events.filter((e) => e.kind === "cached").length;
}
