/**
 * Named volumes of the `local` driver: `<root>/volumes/<name>/_data`, created on first use or by
 * `docker volume create`, kept after their containers are removed.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isVolumeName } from "./containers/config.js";
import { EngineError } from "./error.js";

/** A volume as Docker's API shows it. */
export interface VolumeInfo {
  Name: string;
  Driver: "local";
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  Options: Record<string, string>;
}

/** The volumes under one engine root. Names are checked before any path is made from them. */
export class VolumeService {
  readonly dir: string;
  constructor(root: string) {
    this.dir = join(root, "volumes");
  }

  private checked(name: string): string {
    if (!isVolumeName(name))
      throw new EngineError(
        "INVALID_ARGUMENT",
        `invalid volume name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    return name;
  }

  /** Host path of a volume's data (whether or not it exists). */
  dataPath(name: string): string {
    return join(this.dir, this.checked(name), "_data");
  }

  /** True when the volume exists. */
  exists(name: string): boolean {
    return existsSync(this.dataPath(name));
  }

  /**
   * Creates the volume if absent (atomically: a half-made one is never visible), with `labels`.
   * Resolves true when this call created it.
   */
  async ensure(name: string, labels: Record<string, string> = {}): Promise<boolean> {
    if (this.exists(name)) return false;
    await mkdir(this.dir, { recursive: true, mode: 0o701 });
    const tmp = join(this.dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
    await mkdir(join(tmp, "_data"), { recursive: true, mode: 0o755 });
    await writeFile(join(tmp, "labels.json"), JSON.stringify(labels));
    try {
      await rename(tmp, join(this.dir, name));
      return true;
    } catch {
      // Someone else made it meanwhile.
      await rm(tmp, { recursive: true, force: true });
      return false;
    }
  }

  /**
   * Docker's copy-up: a new, still empty volume gets the image's content at its mount point.
   * `from` is that path inside the container's rootfs (already resolved by the caller).
   */
  async populate(name: string, from: string): Promise<void> {
    const data = this.dataPath(name);
    if ((await readdir(data)).length > 0) return;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(from);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    await cp(from, data, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }

  /** One volume; throws `NOT_FOUND`. */
  inspect(name: string): VolumeInfo {
    if (!this.exists(name)) throw new EngineError("NOT_FOUND", `get ${name}: no such volume`);
    const st = statSync(join(this.dir, name));
    let labels: Record<string, string> = {};
    try {
      labels = JSON.parse(readFileSync(join(this.dir, name, "labels.json"), "utf8")) as Record<
        string,
        string
      >;
    } catch {
      // Volumes made before labels were kept have none.
    }
    return {
      Name: name,
      Driver: "local",
      Mountpoint: this.dataPath(name),
      CreatedAt: st.birthtime.toISOString(),
      Labels: labels,
      Scope: "local",
      Options: {},
    };
  }

  /** Every volume, by name. */
  async list(): Promise<VolumeInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => isVolumeName(n) && this.exists(n))
      .sort()
      .map((n) => this.inspect(n));
  }

  /** Deletes a volume and its data; `inUse` names the containers using it (then 409). */
  async remove(name: string, inUse: readonly string[]): Promise<void> {
    this.inspect(name);
    if (inUse.length)
      throw new EngineError("INVALID_STATE", `remove ${name}: volume is in use - [${inUse.join(", ")}]`);
    // Rename first so a crash mid-delete never leaves a half-emptied volume under its name.
    const doomed = join(this.dir, `.rm-${name}-${process.pid}-${Date.now()}`);
    await rename(join(this.dir, name), doomed);
    await rm(doomed, { recursive: true, force: true });
  }
}
