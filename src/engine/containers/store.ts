/**
 * Container metadata in SQLite (`<root>/engine.db`): config, name, state, exit code, restart
 * count, monitor pid and timestamps. Every write is one statement (or one transaction), so a
 * crash of pierd never leaves a half-written record.
 */
import Database from "better-sqlite3";
import { EngineError } from "../error.js";
import type { ContainerConfig } from "./config.js";

/** Docker's container states that pier uses. */
export type ContainerStatus = "created" | "running" | "exited" | "removing";

/** One container's record. */
export interface ContainerRecord {
  id: string;
  /** Without the leading `/`. */
  name: string;
  config: ContainerConfig;
  /** Manifest digest of the image it was made from. */
  imageId: string;
  status: ContainerStatus;
  /** Pid of the container's init while running, else 0. */
  pid: number;
  /** Pid of its monitor while one runs, else 0. */
  monitorPid: number;
  exitCode: number;
  /** Why it could not run, when it could not. */
  error: string;
  restartCount: number;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
}

interface Row {
  id: string;
  name: string;
  config: string;
  image_id: string;
  status: ContainerStatus;
  pid: number;
  monitor_pid: number;
  exit_code: number;
  error: string;
  restart_count: number;
  created_at: string;
  started_at: string;
  finished_at: string;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * A stored config as this version reads it: the namespace modes an older pierd kept at the top
 * (`ipcMode`/`utsMode`/`pidMode`, CRI containers) move into `security`, where they are joined
 * at each start. Pure.
 */
export function storedConfig(text: string): ContainerConfig {
  const c = JSON.parse(text) as ContainerConfig & Record<string, unknown>;
  for (const key of ["ipcMode", "utsMode", "pidMode"] as const) {
    const mode = c[key];
    if (mode === undefined) continue;
    delete c[key];
    if (typeof mode === "string") c.security = { [key]: mode, ...c.security };
  }
  return c;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    config: storedConfig(r.config),
    imageId: r.image_id,
    status: r.status,
    pid: r.pid,
    monitorPid: r.monitor_pid,
    exitCode: r.exit_code,
    error: r.error,
    restartCount: r.restart_count,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** The fields {@link ContainerStore.update} may change. */
export type ContainerUpdate = Partial<
  Pick<
    ContainerRecord,
    "status" | "pid" | "monitorPid" | "exitCode" | "error" | "restartCount" | "startedAt" | "finishedAt"
  >
>;

const COLUMNS: Record<keyof ContainerUpdate, string> = {
  status: "status",
  pid: "pid",
  monitorPid: "monitor_pid",
  exitCode: "exit_code",
  error: "error",
  restartCount: "restart_count",
  startedAt: "started_at",
  finishedAt: "finished_at",
};

/** The container table. */
export class ContainerStore {
  private readonly db: Database.Database;
  /**
   * Prepared statements by SQL text: compiling one took longer than running it (a `run --rm`
   * reads and writes its record some twenty times). A handful of texts: bounded.
   */
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating) the database at `path`. */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // Commits reach the WAL in the page cache without an fsync each (four per `run --rm`): a
    // killed or crashed pierd loses nothing; a power cut may lose the last changes, when the
    // containers they describe are gone too. The WAL is synced at checkpoints.
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`CREATE TABLE IF NOT EXISTS containers (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      config TEXT NOT NULL,
      image_id TEXT NOT NULL,
      status TEXT NOT NULL,
      pid INTEGER NOT NULL DEFAULT 0,
      monitor_pid INTEGER NOT NULL DEFAULT 0,
      exit_code INTEGER NOT NULL DEFAULT 0,
      error TEXT NOT NULL DEFAULT '',
      restart_count INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT NOT NULL
    )`);
  }

  /** The prepared statement of `text`, compiled once. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** Inserts a new `created` record; throws `NAME_CONFLICT` when the name is taken. */
  insert(r: { id: string; name: string; config: ContainerConfig; imageId: string }): ContainerRecord {
    const now = new Date().toISOString();
    try {
      this.sql(
        `INSERT INTO containers (id, name, config, image_id, status, created_at, started_at, finished_at)
           VALUES (?, ?, ?, ?, 'created', ?, ?, ?)`,
      ).run(r.id, r.name, JSON.stringify(r.config), r.imageId, now, ZERO_TIME, ZERO_TIME);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        const other = this.byName(r.name);
        throw new EngineError(
          "NAME_CONFLICT",
          `Conflict. The container name "/${r.name}" is already in use by container "${other?.id ?? "?"}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      throw err;
    }
    return this.get(r.id) as ContainerRecord;
  }

  /** The record of `id`, or `undefined`. */
  get(id: string): ContainerRecord | undefined {
    const row = this.sql("SELECT * FROM containers WHERE id = ?").get(id) as Row | undefined;
    return row && fromRow(row);
  }

  /** The record named `name` (with or without `/`), or `undefined`. */
  byName(name: string): ContainerRecord | undefined {
    const row = this.sql("SELECT * FROM containers WHERE name = ?").get(name.replace(/^\//, "")) as
      | Row
      | undefined;
    return row && fromRow(row);
  }

  /**
   * Finds a container by full id, name, or unique id prefix, as Docker does; throws `NOT_FOUND`
   * (`No such container: x`).
   */
  find(ref: string): ContainerRecord {
    const exact = this.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    if (/^[a-f0-9]{1,64}$/.test(ref)) {
      const rows = this.sql("SELECT * FROM containers WHERE id LIKE ? LIMIT 2").all(`${ref}%`) as Row[];
      if (rows.length === 1) return fromRow(rows[0]!);
      if (rows.length > 1)
        throw new EngineError("INVALID_ARGUMENT", `multiple containers match the id prefix ${ref}`);
    }
    throw new EngineError("NOT_FOUND", `No such container: ${ref}`);
  }

  /** Every record, newest first. */
  list(): ContainerRecord[] {
    const rows = this.sql("SELECT * FROM containers ORDER BY created_at DESC, rowid DESC").all() as Row[];
    return rows.map(fromRow);
  }

  /** Changes some fields of `id`; returns the new record. */
  update(id: string, u: ContainerUpdate): ContainerRecord {
    const keys = Object.keys(u) as (keyof ContainerUpdate)[];
    if (keys.length) {
      const set = keys.map((k) => `${COLUMNS[k]} = ?`).join(", ");
      this.sql(`UPDATE containers SET ${set} WHERE id = ?`).run(...keys.map((k) => u[k] ?? null), id);
    }
    const r = this.get(id);
    if (!r) throw new EngineError("NOT_FOUND", `No such container: ${id}`);
    return r;
  }

  /** Replaces the config of `id` (`docker update`); returns the new record. */
  setConfig(id: string, config: ContainerConfig): ContainerRecord {
    this.sql("UPDATE containers SET config = ? WHERE id = ?").run(JSON.stringify(config), id);
    const r = this.get(id);
    if (!r) throw new EngineError("NOT_FOUND", `No such container: ${id}`);
    return r;
  }

  /** Renames `id` to `name`; `NAME_CONFLICT` (Docker's message) when another container has it. */
  rename(id: string, name: string): void {
    const other = this.byName(name);
    if (other && other.id !== id)
      throw new EngineError(
        "NAME_CONFLICT",
        `Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    if (other)
      throw new EngineError(
        "INVALID_ARGUMENT",
        `Renaming a container with the same name as its current name`,
      );
    this.sql("UPDATE containers SET name = ? WHERE id = ?").run(name, id);
  }

  /** Deletes the record (absent is fine). */
  delete(id: string): void {
    this.sql("DELETE FROM containers WHERE id = ?").run(id);
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
