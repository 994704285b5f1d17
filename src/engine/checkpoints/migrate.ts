/**
 * Live migration to another pierd (`pier migrate CONTAINER --to DEST`): the container is frozen,
 * dumped with CRIU while it stays frozen (`--leave-running` on a paused container), and its
 * archive streamed straight into the target's import (pier's API `POST /v1/containers/import`),
 * which restores it under the same name. Only once the target answers that its container runs
 * is the source removed; on any failure the source is thawed and goes on as if nothing
 * happened. The downtime is from the freeze to the target's answer.
 */
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import type { ContainerService } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";
import type { ArchiveCompression, PackedArchive } from "./archive.js";
import type { CheckpointOperations } from "./operations.js";

/** What a migration reports. */
export interface MigrationReport {
  /** The container's id on the target. */
  id: string;
  name: string;
  /** Milliseconds from the freeze on the source to the target's container running. */
  downtimeMs: number;
  /** Bytes of the archive streamed to the target. */
  bytes: number;
  /** The address on the target (the same as on the source where its network allows). */
  address?: string;
  /**
   * Set when the source could not be removed after the target took over (it stays frozen
   * there, to be removed by hand): why.
   */
  sourceNotRemoved?: string;
}

/** Where a migration goes: another pierd's API. */
export type MigrationTarget =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number };

/** Parses `--to`: a socket path, `unix:///path` or `tcp://host:port`. Pure. */
export function parseMigrationTarget(to: string): MigrationTarget {
  if (to.startsWith("unix://")) return { kind: "unix", socketPath: to.slice("unix://".length) };
  if (to.startsWith("/")) return { kind: "unix", socketPath: to };
  if (to.startsWith("tcp://")) {
    const u = new URL(`http://${to.slice("tcp://".length)}`);
    const port = Number(u.port);
    if (!u.hostname || !Number.isInteger(port) || port <= 0)
      throw new EngineError("INVALID_ARGUMENT", `invalid migration target ${to}: tcp://HOST:PORT`);
    return { kind: "tcp", host: u.hostname, port };
  }
  throw new EngineError(
    "INVALID_ARGUMENT",
    `invalid migration target ${JSON.stringify(to)}: a pierd socket path, unix:///PATH or tcp://HOST:PORT`,
  );
}

/** What the target's import answers: the container record and its network address. */
interface ImportAnswer {
  id: string;
  name: string;
  network?: { address?: string } | null;
}

/** Streams `archive` into `target`'s import as container `name`; resolves with its answer. */
function sendArchive(
  target: MigrationTarget,
  archive: PackedArchive,
  name: string,
): Promise<{ answer: ImportAnswer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const where =
      target.kind === "unix" ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = request({
      ...where,
      method: "POST",
      path: `/v1/containers/import?name=${encodeURIComponent(name)}`,
      headers: { "Content-Type": "application/x-tar", "Transfer-Encoding": "chunked" },
    });
    let bytes = 0;
    archive.stream.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    const fail = (err: Error) => {
      archive.abort();
      reject(
        err instanceof EngineError
          ? err
          : new EngineError("CREATE_FAILED", `migration target: ${err.message}`, { cause: err }),
      );
    };
    req.on("error", fail);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 1 << 20) body += c;
      });
      res.on("error", fail);
      res.on("end", () => {
        let v: unknown;
        try {
          v = JSON.parse(body);
        } catch {
          v = undefined;
        }
        if ((res.statusCode ?? 500) >= 300) {
          const message = (v as { message?: string } | undefined)?.message ?? body.trim();
          fail(new EngineError("CREATE_FAILED", `the migration target refused the container: ${message}`));
          return;
        }
        resolve({ answer: v as ImportAnswer, bytes });
      });
    });
    archive.stream.on("error", fail);
    archive.stream.pipe(req);
  });
}

/** Options of {@link migrateContainer}. */
export interface MigrateOptions {
  /** Archive compression on the wire (default none: the hand-over is usually local or LAN). */
  compression?: ArchiveCompression;
  tcpEstablished?: boolean;
}

/**
 * Migrates running container `ref` to the pierd at `to` (see {@link parseMigrationTarget}).
 * Throws with the source running again when anything fails.
 */
export async function migrateContainer(
  containers: ContainerService,
  checkpoints: CheckpointOperations,
  ref: string,
  to: string,
  opts: MigrateOptions = {},
): Promise<MigrationReport> {
  const target = parseMigrationTarget(to);
  const rec: ContainerRecord = containers.find(ref);
  if (rec.status !== "running") throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
  const wasPaused = containers.isPaused(rec.id);
  const frozenAt = performance.now();
  if (!wasPaused) await containers.pause(rec.id);
  let sent: { answer: ImportAnswer; bytes: number };
  try {
    const archive = await checkpoints.createArchive(rec.id, opts.compression ?? "none", {
      leaveRunning: true,
      tcpEstablished: opts.tcpEstablished === true,
    });
    sent = await sendArchive(target, archive, rec.name);
    await archive.done;
  } catch (err) {
    if (!wasPaused) await containers.unpause(rec.id).catch(() => {});
    throw err;
  }
  const downtimeMs = performance.now() - frozenAt;
  // The target runs it: the migration happened even if the source cannot be removed now.
  let sourceNotRemoved: string | undefined;
  await containers.remove(rec.id, true).catch((err: Error) => {
    sourceNotRemoved = err.message;
  });
  const address = sent.answer.network?.address;
  return {
    id: sent.answer.id,
    name: sent.answer.name,
    downtimeMs: Math.round(downtimeMs),
    bytes: sent.bytes,
    ...(address ? { address } : {}),
    ...(sourceNotRemoved ? { sourceNotRemoved } : {}),
  };
}
