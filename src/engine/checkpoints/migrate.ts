/**
 * Live migration to another pierd (`pier migrate CONTAINER --to DEST`): the container is frozen,
 * dumped with CRIU while it stays frozen (`--leave-running` on a paused container), and its
 * archive streamed straight into the target's import (pier's API `POST /v1/containers/import`,
 * on its socket or, for `tcp://`, on its remote API's TLS listener with client certificates),
 * which restores it under the same name. Only once the target answers that its container runs
 * is the source removed; on any failure the source is thawed and goes on as if nothing
 * happened. The downtime is from the freeze to the target's answer, reported in its phases.
 * The archive goes zstd-compressed at its fastest level on every core unless told otherwise:
 * memory pages compress well, and every byte not sent is one that neither daemon copies nor the
 * target stages on its disk while the container is frozen.
 *
 * With a registry reference as the hand-over point, the frozen container's checkpoint image is
 * pushed there; once it is pushed the source is killed (kept, stopped, to be removed by hand)
 * and the target restores it with `pier restore REF` whenever it is told to: the downtime
 * reported ends at the push.
 */
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { performance } from "node:perf_hooks";
import { tryParseReference } from "../../oci/reference.js";
import type { Credentials } from "../../remote/index.js";
import type { ContainerService } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";
import { parseTcpAddress } from "../tcp-address.js";
import type { ArchiveCompression, PackedArchive } from "./archive.js";
import { type NetworkUnlock, silenceNetwork } from "./network-lock.js";
import type { CheckpointOperations } from "./operations.js";

/**
 * With `--tcp-established`, the source's network is held silent from its freeze on (see
 * network-lock.ts): its connections then move without the source answering or closing them.
 */
function silenceSource(rec: ContainerRecord): Promise<NetworkUnlock | undefined> {
  return silenceNetwork(rec.pid, rec.config.networkMode?.startsWith("container:") === true);
}

/** What a migration reports. */
export interface MigrationReport {
  /** The container's id on the target. */
  id: string;
  name: string;
  /** Milliseconds from the freeze on the source to the target's container running. */
  downtimeMs: number;
  /** Bytes of the archive streamed to the target (of the image's layer for a registry). */
  bytes: number;
  /** Where the downtime went, in milliseconds (see {@link MigrationPhases}). */
  phases: MigrationPhases;
  /** For a registry hand-over: the pushed checkpoint image (`NAME@DIGEST`), to `pier restore`. */
  image?: string;
  /** The address on the target (the same as on the source where its network allows). */
  address?: string;
  /**
   * Set when the source could not be removed after the target took over (it stays frozen
   * there, to be removed by hand): why.
   */
  sourceNotRemoved?: string;
}

/**
 * The downtime's phases, in milliseconds, as the source sees them: they add up to the downtime.
 * For a registry hand-over `sendMs` is the push and `targetMs` is 0 (the target restores later).
 */
export interface MigrationPhases {
  /** Freezing the container (0 when it was paused already). */
  freezeMs: number;
  /** CRIU's dump of the frozen container and the rootfs changes, until the archive can start. */
  dumpMs: number;
  /** Packing (and compressing) the archive and streaming it, until its last byte is sent. */
  sendMs: number;
  /** From the last byte sent to the target's answer: its unpack of the rest and its restore. */
  targetMs: number;
}

/** Where a migration goes: another pierd's API, or a registry as the hand-over point. */
export type MigrationTarget =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "registry"; ref: string };

/** PEM texts of the remote API's TLS client side (docker's `ca.pem`, `cert.pem`, `key.pem`). */
export interface MigrationTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Parses `--to`: a socket path, `unix:///path`, `tcp://host:port`, or a registry reference
 * (`docker://REF`, or `HOST/REPO[:TAG]`). Pure.
 */
export function parseMigrationTarget(to: string): MigrationTarget {
  if (to.startsWith("docker://"))
    return { kind: "registry", ref: registryRef(to.slice("docker://".length), to) };
  if (!/^[a-z]+:\/\//.test(to) && !to.startsWith("/") && to.includes("/"))
    return { kind: "registry", ref: registryRef(to, to) };
  if (to.startsWith("unix://")) return { kind: "unix", socketPath: to.slice("unix://".length) };
  if (to.startsWith("/")) return { kind: "unix", socketPath: to };
  if (to.startsWith("tcp://"))
    return { kind: "tcp", ...parseTcpAddress(to, { what: "migration target", dial: true }) };
  throw new EngineError(
    "INVALID_ARGUMENT",
    `invalid migration target ${JSON.stringify(to)}: a pierd socket path, unix:///PATH, tcp://HOST:PORT or a registry reference`,
  );
}

function registryRef(ref: string, to: string): string {
  const parsed = tryParseReference(ref);
  if (!parsed || parsed.digest)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid migration target ${JSON.stringify(to)}: a registry reference with a tag (no digest: the image is made here)`,
    );
  return parsed.toString();
}

/** What the target's import answers: the container record and its network address. */
interface ImportAnswer {
  id: string;
  name: string;
  network?: { address?: string } | null;
}

/**
 * Opens the import request on `target`. node:https (and with it TLS) is loaded only for a TCP
 * target, at a migration, not by every pierd at start.
 */
async function openImport(target: ApiTarget, name: string): Promise<ClientRequest> {
  const options: RequestOptions = {
    method: "POST",
    path: `/v1/containers/import?name=${encodeURIComponent(name)}`,
    headers: { "Content-Type": "application/x-tar", "Transfer-Encoding": "chunked" },
  };
  if (target.kind === "unix") return httpRequest({ ...options, socketPath: target.socketPath });
  const { request } = await import("node:https");
  return request({
    ...options,
    host: target.host,
    port: target.port,
    ca: target.tls.ca,
    cert: target.tls.cert,
    key: target.tls.key,
    minVersion: "TLSv1.2",
  });
}

/** Streams `archive` into `target`'s import as container `name`; resolves with its answer. */
async function sendArchive(
  target: ApiTarget,
  archive: PackedArchive,
  name: string,
): Promise<{ answer: ImportAnswer; bytes: number; sentAt: number }> {
  const req = await openImport(target, name);
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let sentAt = 0;
    archive.stream.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    req.on("finish", () => {
      sentAt = performance.now();
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
    req.on("response", (res: IncomingMessage) => {
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
        resolve({ answer: v as ImportAnswer, bytes, sentAt: sentAt || performance.now() });
      });
    });
    archive.stream.on("error", fail);
    archive.stream.pipe(req);
  });
}

/** A pierd API to stream into: its socket, or its TLS listener with the client's certificates. */
type ApiTarget =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls: MigrationTls };

/** Options of {@link migrateContainer}. */
export interface MigrateOptions {
  /** Archive compression on the wire (default zstd at its fastest level; a registry: zstd). */
  compression?: ArchiveCompression;
  tcpEstablished?: boolean;
  /** For `tcp://`: the remote API's TLS client certificates (required there). */
  tls?: MigrationTls;
  /** For a registry: its credentials (else the stored ones). */
  credentials?: Credentials;
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
  const parsed = parseMigrationTarget(to);
  const rec: ContainerRecord = containers.find(ref);
  if (rec.status !== "running") throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
  if (parsed.kind === "registry")
    return migrateThroughRegistry(containers, checkpoints, rec, parsed.ref, opts);
  let target: ApiTarget;
  if (parsed.kind === "tcp") {
    if (!opts.tls)
      throw new EngineError(
        "INVALID_ARGUMENT",
        `migration to ${to} needs the remote API's TLS client certificates (ca, cert and key: --tlscacert, --tlscert, --tlskey or DOCKER_CERT_PATH)`,
      );
    target = { ...parsed, tls: opts.tls };
  } else target = parsed;
  const wasPaused = containers.isPaused(rec.id);
  const frozenAt = performance.now();
  if (!wasPaused) await containers.pause(rec.id);
  const frozen = performance.now();
  let sent: Awaited<ReturnType<typeof sendArchive>>;
  let dumped: number;
  let unlock: NetworkUnlock | undefined;
  try {
    if (opts.tcpEstablished) unlock = await silenceSource(rec);
    const archive = await checkpoints.createArchive(rec.id, opts.compression ?? "zstd", {
      leaveRunning: true,
      tcpEstablished: opts.tcpEstablished === true,
      fast: true,
    });
    dumped = performance.now();
    sent = await sendArchive(target, archive, rec.name);
    await archive.done;
  } catch (err) {
    await unlock?.().catch(() => {});
    if (!wasPaused) await containers.unpause(rec.id).catch(() => {});
    throw err;
  }
  const answered = performance.now();
  const downtimeMs = answered - frozenAt;
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
    phases: {
      freezeMs: Math.round(frozen - frozenAt),
      dumpMs: Math.round(dumped - frozen),
      sendMs: Math.round(sent.sentAt - dumped),
      targetMs: Math.round(answered - sent.sentAt),
    },
    ...(address ? { address } : {}),
    ...(sourceNotRemoved ? { sourceNotRemoved } : {}),
  };
}

/**
 * Hands `rec` over through the registry at `ref`: frozen, dumped into a checkpoint image while
 * frozen, pushed; then killed (kept stopped). Any failure before the push ends thaws it.
 */
async function migrateThroughRegistry(
  containers: ContainerService,
  checkpoints: CheckpointOperations,
  rec: ContainerRecord,
  ref: string,
  opts: MigrateOptions,
): Promise<MigrationReport> {
  const wasPaused = containers.isPaused(rec.id);
  const frozenAt = performance.now();
  if (!wasPaused) await containers.pause(rec.id);
  const frozen = performance.now();
  let made: Awaited<ReturnType<CheckpointOperations["pushImage"]>>;
  let unlock: NetworkUnlock | undefined;
  let dumped = frozen;
  try {
    if (opts.tcpEstablished) unlock = await silenceSource(rec);
    made = await checkpoints.pushImage(rec.id, ref, {
      onDumped: () => {
        dumped = performance.now();
      },
      leaveRunning: true,
      tcpEstablished: opts.tcpEstablished === true,
      compression: opts.compression ?? "zstd",
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
  } catch (err) {
    await unlock?.().catch(() => {});
    if (!wasPaused) await containers.unpause(rec.id).catch(() => {});
    throw err;
  }
  const downtimeMs = performance.now() - frozenAt;
  // The image is the container now: the source must not run on beside its restored copy.
  let sourceNotRemoved: string | undefined;
  // Killed (no stop signal: its copy runs elsewhere), and waited for, so that it is reported
  // stopped only once it is.
  const exited = containers.wait(rec.id);
  await containers.kill(rec.id, "SIGKILL").then(
    () => exited,
    (err: Error) => {
      sourceNotRemoved = `it could not be stopped: ${err.message}`;
    },
  );
  return {
    id: rec.id,
    name: rec.name,
    downtimeMs: Math.round(downtimeMs),
    bytes: made.size,
    phases: {
      freezeMs: Math.round(frozen - frozenAt),
      dumpMs: Math.round(dumped - frozen),
      sendMs: Math.round(frozenAt + downtimeMs - dumped),
      targetMs: 0,
    },
    image: `${made.name}@${made.digest}`,
    ...(sourceNotRemoved ? { sourceNotRemoved } : {}),
  };
}
