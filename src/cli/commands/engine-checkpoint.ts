/**
 * `pier checkpoint create|ls|rm|export`, `pier restore` and `pier migrate`: thin commands over
 * pierd's checkpoint API, with docker's and podman's flags (`--leave-running`,
 * `--checkpoint-dir`, `--export`, `--compress`, `--import`, `--name`, `--tcp-established`).
 */
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { request } from "node:http";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { commandIo } from "../io.js";
import { renderTable } from "../output.js";
import { call, callJson, EngineClientError, pierSocket, responseError } from "./engine-client.js";

const enc = encodeURIComponent;

/** Sends `body` (a file's bytes) as a request's body; resolves with the response. */
function callWithBody(method: string, path: string, body: Readable): Promise<IncomingMessage> {
  const socketPath = pierSocket();
  return new Promise((resolveRes, reject) => {
    const req = request(
      { socketPath, method, path, headers: { "Content-Type": "application/x-tar" } },
      async (res) => {
        if ((res.statusCode ?? 500) < 400) resolveRes(res);
        else reject(await responseError(res));
      },
    );
    req.on("error", (err) =>
      reject(new EngineClientError("UNREACHABLE", `cannot reach pierd at ${socketPath}: ${err.message}`, 0)),
    );
    body.on("error", (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** Writes a response body (an archive) into `file`, relative to the caller's directory. */
async function saveArchive(res: IncomingMessage, file: string): Promise<void> {
  await pipeline(res, createWriteStream(resolve(commandIo().cwd, file), { mode: 0o600 }));
  if (!res.complete) throw new EngineClientError("DAEMON_ERROR", "the archive was cut short by pierd", 500);
}

function dirQuery(dir?: string): string {
  return dir ? `?dir=${enc(dir)}` : "";
}

interface CreateFlags {
  createImage?: string;
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  export?: string;
  compress?: string;
  checkpointDir?: string;
}

/** Registers the checkpoint, restore and migrate commands. */
export function registerCheckpointCommands(program: Command): void {
  const checkpoint = program.command("checkpoint").description("checkpoint running containers (CRIU)");
  checkpoint
    .command("create")
    .description("checkpoint a running container (it stops unless --leave-running)")
    .argument("<container>", "id, name or id prefix")
    .argument("[name]", "the checkpoint's name (default: checkpoint-<time>)")
    .option("--leave-running", "keep the container running after the checkpoint")
    .option("--tcp-established", "checkpoint established TCP connections")
    .option("-e, --export <file>", "write the checkpoint as a podman-compatible archive instead")
    .option("--compress <kind>", "archive compression: zstd, gzip or none", "zstd")
    .option("--checkpoint-dir <dir>", "keep the checkpoint in this directory")
    .option(
      "--create-image <image>",
      "make the checkpoint a local image (podman's checkpoint image format; push it with pier checkpoint push or pier push)",
    )
    .action(async (ref: string, name: string | undefined, f: CreateFlags) => {
      if (f.createImage) {
        // pierd refuses a name, --export or --checkpoint-dir alongside, naming them.
        const made = await callJson<{ name: string; digest: string }>(
          "POST",
          `/v1/containers/${enc(ref)}/checkpoints`,
          {
            createImage: f.createImage,
            leaveRunning: f.leaveRunning === true,
            tcpEstablished: f.tcpEstablished === true,
            compression: f.compress,
            ...(name ? { name } : {}),
            ...(f.export ? { export: true } : {}),
            ...(f.checkpointDir ? { checkpointDir: f.checkpointDir } : {}),
          },
        );
        commandIo().stdout(`${made.name}@${made.digest}\n`);
        return;
      }
      const body = {
        leaveRunning: f.leaveRunning === true,
        tcpEstablished: f.tcpEstablished === true,
        ...(f.export ? { export: true, compression: f.compress } : {}),
        ...(name ? { name } : {}),
        ...(f.checkpointDir ? { checkpointDir: f.checkpointDir } : {}),
      };
      const res = await call("POST", `/v1/containers/${enc(ref)}/checkpoints`, body);
      if (f.export) {
        await saveArchive(res, f.export);
        commandIo().stdout(`${ref}\n`);
        return;
      }
      let text = "";
      for await (const c of res) text += (c as Buffer).toString();
      commandIo().stdout(`${(JSON.parse(text) as { name: string }).name}\n`);
    });
  checkpoint
    .command("ls")
    .description("list a container's checkpoints")
    .argument("<container>", "id, name or id prefix")
    .option("--checkpoint-dir <dir>", "look in this directory")
    .action(async (ref: string, f: { checkpointDir?: string }) => {
      const rows = await callJson<{ name: string; checkpointedAt: string }[]>(
        "GET",
        `/v1/containers/${enc(ref)}/checkpoints${dirQuery(f.checkpointDir)}`,
      );
      commandIo().stdout(
        renderTable(
          ["CHECKPOINT NAME", "CREATED"],
          rows.map((r) => [r.name, r.checkpointedAt]),
        ),
      );
    });
  checkpoint
    .command("rm")
    .description("remove a checkpoint")
    .argument("<container>", "id, name or id prefix")
    .argument("<name>", "the checkpoint")
    .option("--checkpoint-dir <dir>", "look in this directory")
    .action(async (ref: string, name: string, f: { checkpointDir?: string }) => {
      await (
        await call(
          "DELETE",
          `/v1/containers/${enc(ref)}/checkpoints/${enc(name)}${dirQuery(f.checkpointDir)}`,
        )
      ).resume();
      commandIo().stdout(`${name}\n`);
    });
  checkpoint
    .command("export")
    .description("write a checkpoint as a podman-compatible archive")
    .argument("<container>", "id, name or id prefix")
    .argument("<name>", "the checkpoint")
    .requiredOption("-o, --output <file>", "the archive to write")
    .option("--compress <kind>", "zstd, gzip or none", "zstd")
    .option("--checkpoint-dir <dir>", "look in this directory")
    .action(
      async (ref: string, name: string, f: { output: string; compress: string; checkpointDir?: string }) => {
        const q = new URLSearchParams({ compression: f.compress });
        if (f.checkpointDir) q.set("dir", f.checkpointDir);
        const res = await call("GET", `/v1/containers/${enc(ref)}/checkpoints/${enc(name)}/export?${q}`);
        await saveArchive(res, f.output);
      },
    );

  checkpoint
    .command("push")
    .description(
      "checkpoint a running container as an image (podman's checkpoint image format) and push it; the container's image is its subject",
    )
    .argument("<container>", "id, name or id prefix")
    .argument(
      "<ref>",
      "where to push it (in the container image's repository, `pier referrers IMAGE` lists it)",
    )
    .option("--leave-running", "keep the container running after the checkpoint")
    .option("--tcp-established", "checkpoint established TCP connections")
    .option("--compress <kind>", "layer compression: zstd, gzip or none", "zstd")
    .action(
      async (
        ref: string,
        target: string,
        f: { leaveRunning?: boolean; tcpEstablished?: boolean; compress: string },
      ) => {
        const made = await callJson<{ name: string; digest: string }>(
          "POST",
          `/v1/containers/${enc(ref)}/checkpoints`,
          {
            push: target,
            leaveRunning: f.leaveRunning === true,
            tcpEstablished: f.tcpEstablished === true,
            compression: f.compress,
          },
        );
        commandIo().stdout(`${made.name}@${made.digest}\n`);
      },
    );

  program
    .command("restore")
    .description(
      "restore a container from a checkpoint image (pulled when not here), a checkpoint archive (--import) or one of its checkpoints (--checkpoint)",
    )
    .argument("[container|image]", "with --checkpoint: the container to restore; else a checkpoint image")
    .option("-i, --import <file>", "a podman or pier checkpoint archive: restored as a new container")
    .option(
      "-n, --name <name>",
      "with an image or --import: the new container's name (default: the checkpointed one's)",
    )
    .option("--checkpoint <name>", "the container's checkpoint to restore")
    .option("--checkpoint-dir <dir>", "look for the checkpoint in this directory")
    .action(
      async (
        ref: string | undefined,
        f: { import?: string; name?: string; checkpoint?: string; checkpointDir?: string },
      ) => {
        if (f.import) {
          const q = f.name ? `?name=${enc(f.name)}` : "";
          const path = resolve(commandIo().cwd, f.import);
          try {
            closeSync(openSync(path, "r"));
          } catch (err) {
            throw new EngineClientError(
              "INVALID_ARGUMENT",
              `cannot read ${path}: ${(err as Error).message}`,
              400,
            );
          }
          const file = createReadStream(path);
          const res = await callWithBody("POST", `/v1/containers/import${q}`, file);
          let text = "";
          for await (const c of res) text += (c as Buffer).toString();
          commandIo().stdout(`${(JSON.parse(text) as { id: string }).id}\n`);
          return;
        }
        if (!ref)
          throw new EngineClientError(
            "INVALID_ARGUMENT",
            "give a checkpoint IMAGE, --import FILE, or CONTAINER --checkpoint NAME",
            400,
          );
        if (!f.checkpoint) {
          const made = await callJson<{ id: string }>("POST", "/v1/containers/restore", {
            image: ref,
            ...(f.name ? { name: f.name } : {}),
          });
          commandIo().stdout(`${made.id}\n`);
          return;
        }
        await (
          await call(
            "POST",
            `/v1/containers/${enc(ref)}/checkpoints/${enc(f.checkpoint)}/restore${dirQuery(f.checkpointDir)}`,
          )
        ).resume();
        commandIo().stdout(`${ref}\n`);
      },
    );

  program
    .command("migrate")
    .description(
      "move a running container to another pierd (checkpoint, transfer, restore), or hand it over through a registry",
    )
    .argument("<container>", "id, name or id prefix")
    .requiredOption(
      "--to <dest>",
      "the other pierd: its API socket, unix:///PATH or tcp://HOST:PORT (its TLS listener); or a registry reference (docker://REF or HOST/REPO:TAG) to push the checkpoint image to",
    )
    .option(
      "--compress <kind>",
      "archive compression on the wire: zstd (default, its fastest level on every core), gzip or none",
    )
    .option("--tcp-established", "move established TCP connections too")
    .option(
      "--tlscacert <file>",
      "tcp://: the CA the target's certificate chains to (default $DOCKER_CERT_PATH/ca.pem)",
    )
    .option("--tlscert <file>", "tcp://: the client certificate (default $DOCKER_CERT_PATH/cert.pem)")
    .option("--tlskey <file>", "tcp://: the client key (default $DOCKER_CERT_PATH/key.pem)")
    .action(async (ref: string, f: MigrateFlags) => {
      const tls = f.to.startsWith("tcp://") ? readClientTls(f) : undefined;
      const r = await callJson<{
        id: string;
        name: string;
        downtimeMs: number;
        bytes: number;
        phases?: { freezeMs: number; dumpMs: number; sendMs: number; targetMs: number };
        address?: string;
        image?: string;
        sourceNotRemoved?: string;
      }>("POST", `/v1/containers/${enc(ref)}/migrate`, {
        to: f.to,
        ...(f.compress ? { compression: f.compress } : {}),
        tcpEstablished: f.tcpEstablished === true,
        ...(tls ? { tls } : {}),
      });
      const p = r.phases;
      const split = p
        ? ` (freeze ${p.freezeMs}, dump ${p.dumpMs}, ${r.image ? "push" : "send"} ${p.sendMs}${r.image ? "" : `, target ${p.targetMs}`})`
        : "";
      if (r.image) {
        commandIo().stdout(
          `${r.name} checkpointed to ${r.image}: downtime ${r.downtimeMs} ms until pushed${split}, ${r.bytes} bytes; ` +
            `the source is stopped: restore it on the target with \`pier restore ${r.image}\`, then remove it here\n`,
        );
      } else {
        commandIo().stdout(
          `${r.name} migrated to ${f.to} as ${r.id.slice(0, 12)}${r.address ? ` (${r.address})` : ""}: ` +
            `downtime ${r.downtimeMs} ms${split}, ${r.bytes} bytes\n`,
        );
      }
      if (r.sourceNotRemoved)
        commandIo().stderr(`warning: the source container could not be removed: ${r.sourceNotRemoved}\n`);
    });
}

interface MigrateFlags {
  to: string;
  compress?: string;
  tcpEstablished?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/**
 * The TLS client files for a `tcp://` target, as the docker CLI finds them: the flags, else
 * `$DOCKER_CERT_PATH/{ca,cert,key}.pem`, else `~/.docker/`; read here (the caller's files).
 */
function readClientTls(f: MigrateFlags): { ca: string; cert: string; key: string } {
  const io = commandIo();
  const dir = io.env.DOCKER_CERT_PATH || join(io.env.HOME || homedir(), ".docker");
  const read = (flag: string, given: string | undefined, file: string) => {
    const path = given ? resolve(io.cwd, given) : join(dir, file);
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new EngineClientError(
        "INVALID_ARGUMENT",
        `a tcp:// target needs the remote API's TLS client certificates: cannot read ${path} (${flag}): ${(err as Error).message}`,
        400,
      );
    }
  };
  return {
    ca: read("--tlscacert", f.tlscacert, "ca.pem"),
    cert: read("--tlscert", f.tlscert, "cert.pem"),
    key: read("--tlskey", f.tlskey, "key.pem"),
  };
}
