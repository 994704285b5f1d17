/**
 * `pier top|rename|diff|port|cp|export|commit|import|history|save|load`: docker's verbs over
 * pierd's own API (`/v1`). `cp` does on the caller's side what docker's CLI does: it packs the
 * local source (`src/layer`'s packer) or unpacks the container's tar with the layer applier
 * (nothing lands outside the destination), and asks pierd for the stat of the container path
 * to pick between "into the directory" and "as this name".
 */

import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, realpath, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { request } from "node:http";
import { basename, dirname, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { collect } from "../args.js";
import { commandIo, requireOwnProcess } from "../io.js";
import { humanSize, renderTable, shortDigest } from "../output.js";
import { call, callJson, EngineClientError, pierSocket, responseError } from "./engine-client.js";

const enc = encodeURIComponent;

/** Go's `os.ModeDir` bit of a path stat's mode. */
const GO_MODE_DIR = 2 ** 31;

/** The stat pierd sends with an archive (Docker's `X-Docker-Container-Path-Stat`). */
interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Sends `body` (a stream) with `method` to pier's API; resolves with the response (errors as in `call`). */
function callStream(method: string, path: string, body: Readable): Promise<IncomingMessage> {
  const socketPath = pierSocket();
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: { "Content-Type": "application/x-tar" },
        signal: commandIo().signal,
      },
      async (res) => {
        if ((res.statusCode ?? 500) < 400) resolvePromise(res);
        else reject(await responseError(res));
      },
    );
    req.on("error", (err) =>
      reject(new EngineClientError("UNREACHABLE", `cannot reach pierd at ${socketPath}: ${err.message}`, 0)),
    );
    pipeline(body, req).catch((err: Error) => req.destroy(err));
  });
}

/** The stat of `path` in container `c`, or `undefined` when it does not exist. */
async function statIn(c: string, path: string): Promise<PathStat | undefined> {
  try {
    const res = await call("HEAD", `/v1/containers/${enc(c)}/archive?path=${enc(path)}`);
    res.resume();
    return statOf(res);
  } catch (err) {
    if (err instanceof EngineClientError && err.status === 404) return undefined;
    throw err;
  }
}

function statOf(res: IncomingMessage): PathStat {
  const h = res.headers["x-docker-container-path-stat"];
  if (typeof h !== "string") throw new EngineClientError("DAEMON_ERROR", "pierd sent no path stat", 500);
  return JSON.parse(Buffer.from(h, "base64").toString("utf8")) as PathStat;
}

/** `CONTAINER:PATH` split; `undefined` for a local path (`./a:b` and `/a:b` are local, as in docker). Pure. */
export function splitCpArg(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith("/") || arg.startsWith(".")) return undefined;
  const i = arg.indexOf(":");
  if (i <= 0) return undefined;
  return { container: arg.slice(0, i), path: arg.slice(i + 1) || "/" };
}

/** The binary stream of this process's own stdout (these commands run in the caller's own process). */
function ownStdout(): Writable {
  return process.stdout;
}

async function cpFromContainer(c: string, path: string, dst: string, f: CpFlags): Promise<void> {
  let src = path;
  if (f.followLink) {
    const st = await statIn(c, src);
    if (st?.linkTarget) src = st.linkTarget;
  }
  const res = await call("GET", `/v1/containers/${enc(c)}/archive?path=${enc(src)}`);
  const st = statOf(res);
  if (dst === "-") {
    await pipeline(res, ownStdout());
    return;
  }
  const target = resolve(commandIo().cwd, dst);
  const existing = await stat(target).catch(() => undefined);
  const srcIsDir = (st.mode & GO_MODE_DIR) !== 0;
  // The layer codec (and its zstd addon) loads only for `cp`: every other command starts lighter.
  const { applyLayer } = await import("../../layer/index.js");
  const apply = (root: string) =>
    applyLayer(root, res, { whiteouts: "literal", sameOwner: f.archive === true, compression: "none" });
  if (existing?.isDirectory() && st.name !== ".") {
    await apply(target);
    return;
  }
  if (existing && !existing.isDirectory() && srcIsDir)
    throw new EngineClientError("INVALID_ARGUMENT", `cannot copy a directory to a file: ${dst}`, 400);
  if (!existing && dst.endsWith("/"))
    throw new EngineClientError("INVALID_ARGUMENT", `destination directory ${dst} does not exist`, 400);
  if (st.name === ".") {
    await mkdir(target, { recursive: true });
    await apply(target);
    return;
  }
  // Unpacked beside the destination, then renamed onto it: the tar's top entry gets its name.
  const tmp = await mkdtemp(join(dirname(target), ".pier-cp-"));
  try {
    await apply(tmp);
    await rename(join(tmp, st.name), target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function cpToContainer(src: string, c: string, path: string, f: CpFlags): Promise<void> {
  const query = (p: string) =>
    `/v1/containers/${enc(c)}/archive?path=${enc(p)}&noOverwriteDirNonDir=1${f.archive ? "&copyUIDGID=1" : ""}`;
  if (src === "-") {
    (await callStream("PUT", query(path), process.stdin)).resume();
    return;
  }
  let local = resolve(commandIo().cwd, src);
  const lst = await stat(local).catch(() => undefined);
  if (!lst) throw new EngineClientError("NOT_FOUND", `no such file or directory: ${src}`, 404);
  if (f.followLink) local = await realpath(local);
  const dstStat = await statIn(c, path);
  const dst = dstStat?.linkTarget || path;
  const contents = src.endsWith("/.");
  let dir: string;
  let name: string;
  if (dstStat && (dstStat.mode & GO_MODE_DIR) !== 0) {
    dir = dst;
    name = contents ? "." : basename(local);
  } else {
    if (dstStat && lst.isDirectory())
      throw new EngineClientError("INVALID_ARGUMENT", `cannot copy a directory to a file: ${path}`, 400);
    if (!dstStat && path.endsWith("/"))
      throw new EngineClientError("INVALID_ARGUMENT", `destination directory ${path} does not exist`, 400);
    dir = dirname(dst.replace(/\/+$/, "")) || "/";
    name = basename(dst.replace(/\/+$/, ""));
  }
  const { packPath } = await import("../../layer/index.js");
  const tar = await packPath(local, name, { xattrs: false });
  (await callStream("PUT", query(dir), tar)).resume();
}

interface CpFlags {
  archive?: boolean;
  followLink?: boolean;
}

/** Registers the verbs of this module. */
export function registerEngineVerbCommands(program: Command): void {
  program
    .command("top")
    .description("show the processes of a running container (host ps, filtered to it)")
    .argument("<container>", "name or id")
    .argument("[ps-options...]", "ps options (default -ef)")
    .passThroughOptions()
    .action(async (c: string, psArgs: string[]) => {
      const q = psArgs.length ? `?ps_args=${enc(psArgs.join(" "))}` : "";
      const top = await callJson<{ Titles: string[]; Processes: string[][] }>(
        "GET",
        `/v1/containers/${enc(c)}/top${q}`,
      );
      commandIo().stdout(renderTable(top.Titles, top.Processes));
    });

  program
    .command("rename")
    .description("rename a container")
    .argument("<container>", "name or id")
    .argument("<new-name>", "its new name")
    .action(async (c: string, name: string) => {
      await callJson("POST", `/v1/containers/${enc(c)}/rename`, { name });
    });

  program
    .command("diff")
    .description("list what changed in a container's filesystem (A added, C changed, D deleted)")
    .argument("<container>", "name or id")
    .action(async (c: string) => {
      const changes = await callJson<{ Path: string; Kind: number }[] | null>(
        "GET",
        `/v1/containers/${enc(c)}/changes`,
      );
      for (const ch of changes ?? []) commandIo().stdout(`${"CAD"[ch.Kind] ?? "?"} ${ch.Path}\n`);
    });

  program
    .command("port")
    .description("list a container's published ports, or the host address of one")
    .argument("<container>", "name or id")
    .argument("[private-port]", "PORT[/PROTO]")
    .action(async (c: string, wanted: string | undefined) => {
      const rec = await callJson<{
        network: {
          ports?: { hostIP: string; hostPort: number; containerPort: number; protocol: string }[];
        } | null;
      }>("GET", `/v1/containers/${enc(c)}`);
      const ports = rec.network?.ports ?? [];
      let want: { port: number; proto: string } | undefined;
      if (wanted !== undefined) {
        const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(wanted);
        if (!m)
          throw new EngineClientError("INVALID_ARGUMENT", `invalid port ${JSON.stringify(wanted)}`, 400);
        want = { port: Number(m[1]), proto: m[2] ?? "tcp" };
      }
      const rows = ports.filter((p) => !want || (p.containerPort === want.port && p.protocol === want.proto));
      if (want && rows.length === 0)
        throw new EngineClientError("NOT_FOUND", `No public port '${wanted}' published for ${c}`, 404);
      for (const p of rows) {
        const host = `${p.hostIP || "0.0.0.0"}:${p.hostPort}`;
        commandIo().stdout(want ? `${host}\n` : `${p.containerPort}/${p.protocol} -> ${host}\n`);
      }
    });

  program
    .command("cp")
    .description(
      "copy files between a container and the local filesystem (CONTAINER:PATH on one side; - for a tar on stdin/stdout)",
    )
    .argument("<src>", "CONTAINER:SRC_PATH, a local path, or -")
    .argument("<dst>", "CONTAINER:DEST_PATH, a local path, or -")
    .option("-a, --archive", "keep uid/gid of the source")
    .option("-L, --follow-link", "follow a symlink given as the source")
    .action(async (src: string, dst: string, f: CpFlags) => {
      requireOwnProcess("pier cp");
      const from = splitCpArg(src);
      const to = splitCpArg(dst);
      if (from && to)
        throw new EngineClientError("INVALID_ARGUMENT", "copying between containers is not supported", 400);
      if (from) await cpFromContainer(from.container, from.path, dst, f);
      else if (to) await cpToContainer(src, to.container, to.path, f);
      else throw new EngineClientError("INVALID_ARGUMENT", "must specify at least one container source", 400);
    });

  program
    .command("export")
    .description("write a container's filesystem as a tar (to stdout, or -o FILE)")
    .argument("<container>", "name or id")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (c: string, f: { output?: string }) => {
      requireOwnProcess("pier export");
      const res = await call("GET", `/v1/containers/${enc(c)}/export`);
      await writeOut(res, f.output);
    });

  program
    .command("commit")
    .description("make an image of a container's changes")
    .argument("<container>", "name or id")
    .argument("[repository]", "REPOSITORY[:TAG] of the new image")
    .option("-a, --author <author>", "author")
    .option("-m, --message <message>", "commit message")
    .option("-c, --change <instruction>", "Dockerfile instruction to apply (repeatable)", collect, [])
    .option("-p, --pause <bool>", "pause the container while committing (default true)", "true")
    .action(
      async (
        c: string,
        repo: string | undefined,
        f: { author?: string; message?: string; change: string[]; pause: string },
      ) => {
        if (f.pause !== "true" && f.pause !== "false")
          throw new EngineClientError("INVALID_ARGUMENT", `--pause takes true or false, not ${f.pause}`, 400);
        const made = await callJson<{ id: string }>("POST", "/v1/commit", {
          container: c,
          ...(repo ? { repo } : {}),
          ...(f.author ? { author: f.author } : {}),
          ...(f.message ? { comment: f.message } : {}),
          changes: f.change,
          pause: f.pause === "true",
        });
        commandIo().stdout(`${made.id}\n`);
      },
    );

  program
    .command("import")
    .description("make an image of a tar of a root filesystem (a file, or - for stdin)")
    .argument("<file>", "tar file (plain, gzip or zstd) or -")
    .argument("[repository]", "REPOSITORY[:TAG] of the new image")
    .option("-c, --change <instruction>", "Dockerfile instruction to apply (repeatable)", collect, [])
    .option("-m, --message <message>", "history comment")
    .option("--platform <os/arch>", "platform recorded in the image")
    .action(
      async (
        file: string,
        repo: string | undefined,
        f: { change: string[]; message?: string; platform?: string },
      ) => {
        requireOwnProcess("pier import");
        const q = new URLSearchParams();
        if (repo) q.set("repo", repo);
        if (f.message) q.set("message", f.message);
        if (f.platform) q.set("platform", f.platform);
        for (const ch of f.change) q.append("changes", ch);
        const body = file === "-" ? process.stdin : createReadStream(resolve(commandIo().cwd, file));
        const res = await callStream("POST", `/v1/images/import?${q}`, body);
        let text = "";
        for await (const chunk of res) text += (chunk as Buffer).toString();
        commandIo().stdout(`${(JSON.parse(text) as { id: string }).id}\n`);
      },
    );

  program
    .command("history")
    .description("show the history of an image")
    .argument("<image>", "name or id")
    .option("--no-trunc", "do not truncate ids and commands")
    .option("-q, --quiet", "only print ids")
    .option("--format <format>", "json for one JSON document per row")
    .action(async (image: string, f: { trunc: boolean; quiet?: boolean; format?: string }) => {
      const rows = await callJson<
        { Id: string; Created: number; CreatedBy: string; Size: number; Comment: string }[]
      >("GET", `/v1/images/${enc(image)}/history`);
      if (f.format === "json") {
        for (const r of rows) commandIo().stdout(`${JSON.stringify(r)}\n`);
        return;
      }
      const id = (s: string) => (s === "<missing>" || !f.trunc ? s : shortDigest(s));
      if (f.quiet) {
        for (const r of rows) commandIo().stdout(`${id(r.Id)}\n`);
        return;
      }
      const by = (s: string) => (f.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
      commandIo().stdout(
        renderTable(
          ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
          rows.map((r) => [
            id(r.Id),
            new Date(r.Created * 1000).toISOString(),
            by(r.CreatedBy),
            humanSize(r.Size),
            r.Comment,
          ]),
        ),
      );
    });

  program
    .command("save")
    .description("write images as a docker archive (to stdout, or -o FILE)")
    .argument("<images...>", "names or ids")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (images: string[], f: { output?: string }) => {
      requireOwnProcess("pier save");
      const q = images.map((n) => `names=${enc(n)}`).join("&");
      await writeOut(await call("GET", `/v1/images/save?${q}`), f.output);
    });

  program
    .command("load")
    .description("load images from a docker or OCI archive (stdin, or -i FILE)")
    .option("-i, --input <file>", "read this file instead of stdin")
    .option("-q, --quiet", "print nothing")
    .action(async (f: { input?: string; quiet?: boolean }) => {
      requireOwnProcess("pier load");
      const body = f.input ? createReadStream(resolve(commandIo().cwd, f.input)) : process.stdin;
      const res = await callStream("POST", "/v1/images/load", body);
      let text = "";
      for await (const chunk of res) text += (chunk as Buffer).toString();
      if (f.quiet) return;
      for (const n of (JSON.parse(text) as { loaded: string[] }).loaded)
        commandIo().stdout(n.startsWith("sha256:") ? `Loaded image ID: ${n}\n` : `Loaded image: ${n}\n`);
    });
}

/** Streams `res` to `file` (complete or removed) or to stdout. */
async function writeOut(res: IncomingMessage, file: string | undefined): Promise<void> {
  if (!file) {
    await pipeline(res, ownStdout());
    return;
  }
  const path = resolve(commandIo().cwd, file);
  try {
    await pipeline(res, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}
