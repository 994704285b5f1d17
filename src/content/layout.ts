import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isErrno, isPierError } from "../errors.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import { parseJsonObject, parseOciLayout, validateIndex } from "../oci/validate.js";
import { ContentError } from "./error.js";
import { fsyncDir } from "./fs-util.js";
import { type NamedDescriptor, namedEntries, resolveRef, withoutRef, withRef } from "./index-refs.js";
import { INGEST_DIR, initLayout } from "./layout-init.js";
import { type LockOptions, withLock } from "./lock.js";

/** Name of the lock file, beside `index.json`, that serialises every read-modify-write of it. */
export const INDEX_LOCK_FILE = "index.json.lock";

/**
 * The `index.json` of an OCI image layout: the layout's roots, some of them named by the
 * `org.opencontainers.image.ref.name` annotation (what skopeo and umoci call a tag).
 *
 * Guarantees: what is read is validated (a malformed file gets `ContentError` `INVALID_LAYOUT`
 * naming the file and the problem); every change is a read-modify-write under a cross-process
 * lock ({@link withLock}), written to a temp file, fsynced and renamed into place, so readers see
 * the old or the new index and concurrent updaters never lose one another's change.
 */
export class OciLayout {
  readonly root: string;
  readonly lockPath: string;
  private readonly lockOptions: LockOptions;
  private initialized: Promise<void> | undefined;

  constructor(root: string, options: LockOptions = {}) {
    this.root = root;
    this.lockPath = join(root, INDEX_LOCK_FILE);
    this.lockOptions = options;
  }

  /** Opens a layout, creating `oci-layout`, `index.json` and `blobs/` when missing. */
  static async open(root: string, options?: LockOptions): Promise<OciLayout> {
    await initLayout(root);
    return new OciLayout(root, options);
  }

  /** Reads and validates `oci-layout` and `index.json`. Throws `INVALID_LAYOUT` naming the problem. */
  async read(): Promise<ImageIndex> {
    await this.readFileChecked("oci-layout", parseOciLayout);
    return this.readFileChecked("index.json", (text) =>
      validateIndex(parseJsonObject(text, "index.json"), "index.json"),
    );
  }

  private async readFileChecked<T>(name: string, parse: (text: string) => T): Promise<T> {
    const path = join(this.root, name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if (isErrno(err, "ENOENT")) {
        throw new ContentError(
          "INVALID_LAYOUT",
          `${this.root} is not an OCI image layout: ${name} is missing`,
          {
            detail: { path },
          },
        );
      }
      throw err;
    }
    try {
      return parse(text);
    } catch (err) {
      if (!isPierError(err)) throw err;
      throw new ContentError("INVALID_LAYOUT", `${path}: ${err.message}`, { cause: err, detail: { path } });
    }
  }

  /** The index's entries (all roots, named or not). */
  async roots(): Promise<Descriptor[]> {
    return (await this.read()).manifests;
  }

  /** Every named entry, in index order. */
  async list(): Promise<NamedDescriptor[]> {
    return namedEntries(await this.read());
  }

  /** The descriptor named `name`, or `undefined`. */
  async resolve(name: string): Promise<Descriptor | undefined> {
    return resolveRef(await this.read(), name);
  }

  /** Points `name` at `descriptor`, replacing what it named. Throws `INVALID_REF_NAME` for a bad name. */
  async set(name: string, descriptor: Descriptor): Promise<void> {
    await this.update((index) => ({ index: withRef(index, name, descriptor), result: undefined }));
  }

  /** Removes the entries named `name`; resolves whether there was one. */
  async remove(name: string): Promise<boolean> {
    return this.update((index) => {
      const { index: next, removed } = withoutRef(index, name);
      return { index: next, result: removed };
    });
  }

  /**
   * Read-modify-write of `index.json` under the layout lock: `change` gets the current index and
   * returns the next one (validated before it is written) and a result. Creates the layout if absent.
   */
  async update<T>(change: (index: ImageIndex) => { index: ImageIndex; result: T }): Promise<T> {
    this.initialized ??= initLayout(this.root).catch((err: unknown) => {
      this.initialized = undefined;
      throw err;
    });
    await this.initialized;
    return this.locked(async () => {
      const { index, result } = change(await this.read());
      await this.write(validateIndex(index, "index.json"));
      return result;
    });
  }

  /** Runs `fn` holding the layout lock (what GC holds while it marks and sweeps). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath, fn, this.lockOptions);
  }

  private async write(index: ImageIndex): Promise<void> {
    // The temp file lives in the ingest directory (same filesystem) so other tools never see it.
    const dir = join(this.root, INGEST_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `index-${process.pid}-${randomBytes(6).toString("hex")}.json`);
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(index)}\n`);
      await fh.sync();
      await fh.close();
      await rename(tmp, join(this.root, "index.json"));
      await fsyncDir(this.root);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
