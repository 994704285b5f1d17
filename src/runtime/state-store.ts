/**
 * Where pier-runtime keeps what it knows about each container: `<root>/<id>/state.json` (written
 * atomically) and the exec fifo `<root>/<id>/exec.fifo`, as runc lays out `/run/runc`. The status
 * is never stored: it is derived from the process and the fifo each time it is read, so a crash
 * cannot leave a stale status behind.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { isErrno } from "../errors.js";
import type { Spec } from "../oci/runtime-spec/config.js";
import { RuntimeError } from "./error.js";

/** Default state root (`--root` overrides). */
export const DEFAULT_STATE_ROOT = "/run/pier-runtime";

/** The runtime-spec container statuses, plus runc's `paused`. */
export type ContainerStatus = "creating" | "created" | "running" | "paused" | "stopped";

/** What is stored per container. */
export interface StoredContainer {
  id: string;
  /** Host pid of the container process (0 while creating). */
  pid: number;
  /** Start time of `pid` (field 22 of /proc/pid/stat) to tell a reused pid from ours. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** ISO-8601 creation time. */
  created: string;
  owner: string;
  config: Spec;
  /** Namespaces the container created (joined ones are not its own). */
  newNamespaces: string[];
  /** Cgroup location handed to the cgroups library. */
  cgroupPath?: string;
  /** Set once create completed; a container without it is `creating`. */
  ready: boolean;
}

/** The spec's state document (`runtime.md` State), plus runc's extra fields. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
}

const ID_RE = /^[\w+.-]+$/;

/** Throws `INVALID_ID` unless `id` is a valid container id (runc's rule). */
export function checkId(id: string): void {
  if (!id) throw new RuntimeError("INVALID_ID", "container id cannot be empty");
  if (!ID_RE.test(id) || id === "." || id === "..")
    throw new RuntimeError("INVALID_ID", `invalid id format: ${id}`);
}

/** Reads the start time of a process, or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); start time is field 22.
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The state directory of one `--root`. */
export class StateStore {
  constructor(readonly root: string = DEFAULT_STATE_ROOT) {}

  dir(id: string): string {
    checkId(id);
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), "exec.fifo");
  }

  /** Claims `id`; throws `CONTAINER_EXISTS` when it is taken. */
  async claim(id: string): Promise<string> {
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (isErrno(err, "EEXIST"))
        throw new RuntimeError("CONTAINER_EXISTS", `container with id exists: ${id}`);
      throw err;
    }
    return dir;
  }

  /** Writes the record atomically. */
  async save(c: StoredContainer): Promise<void> {
    const file = join(this.dir(c.id), "state.json");
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(c), { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Loads a record; throws `CONTAINER_NOT_FOUND`. */
  async load(id: string): Promise<StoredContainer> {
    try {
      return JSON.parse(readFileSync(join(this.dir(id), "state.json"), "utf8")) as StoredContainer;
    } catch (err) {
      if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR"))
        throw new RuntimeError("CONTAINER_NOT_FOUND", `container does not exist`, { detail: { id } });
      if (err instanceof SyntaxError)
        throw new RuntimeError("CONTAINER_NOT_FOUND", `container ${id}: state file is corrupt`);
      throw err;
    }
  }

  /** Ids of every container under this root (ignoring entries without a state file). */
  async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    }
    return names.filter((n) => ID_RE.test(n) && existsSync(join(this.root, n, "state.json"))).sort();
  }

  /** Removes everything stored for `id`. */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    // What a container that ran leaves here is its state file alone (start removed the fifo):
    // two calls instead of a recursive walk; anything else is walked as before.
    try {
      unlinkSync(join(dir, "state.json"));
    } catch {}
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
    }
    rmSync(dir, { recursive: true, force: true });
  }

  /** The derived status of a record. */
  status(c: StoredContainer): ContainerStatus {
    if (!c.ready || c.pid === 0) return "creating";
    if (processStartTime(c.pid) !== c.pidStartTime) return "stopped";
    if (existsSync(this.fifoPath(c.id))) return "created";
    if (existsSync(join(this.dir(c.id), "paused"))) return "paused";
    return "running";
  }

  /** The spec's state document of a record. */
  state(c: StoredContainer): ContainerState {
    const status = this.status(c);
    const s: ContainerState = {
      ociVersion: c.config.ociVersion,
      id: c.id,
      status,
      pid: status === "stopped" ? 0 : c.pid,
      bundle: c.bundle,
    };
    if (c.config.annotations) s.annotations = c.config.annotations;
    return s;
  }
}
