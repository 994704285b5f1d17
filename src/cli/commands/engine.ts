/**
 * `pier run`, `ps`, `logs`, `start`, `stop`, `kill`, `restart`, `wait`, `rm`, `inspect`:
 * thin commands over pierd's own API (docs/engine-api.yaml), with docker's flags.
 */
import type { IncomingMessage } from "node:http";
import type { Command } from "commander";
import {
  commandColumn,
  dockerTime,
  healthSuffix,
  humanDuration,
  statusText,
} from "../../engine/containers/status-text.js";
import { formatPorts, type PortMapping, parsePortSpec } from "../../engine/network/ports.js";
import { collectEnv, collectLabel, parseCount } from "../args.js";
import { commandIo, requireOwnProcess } from "../io.js";
import { printJson } from "../output.js";
import { call, callJson, EngineClientError, jsonLines } from "./engine-client.js";
import { logTimeArg } from "./engine-logs.js";
import { registerNetworkCommands } from "./engine-network.js";
import { emitRows, filtersParam } from "./engine-ops.js";
import {
  addLimitAndSecurityOptions,
  type LimitAndSecurityFlags,
  limitAndSecurityBody,
  registerUpdateCommand,
} from "./engine-run-flags.js";
import { addHealthInitFlags, type HealthInitFlags, healthInitBody } from "./engine-run-health.js";
import { attachSession, proxySignals, registerTtyCommands } from "./engine-tty.js";

interface Record_ {
  id: string;
  name: string;
  status: string;
  exitCode: number;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  config: { image: string; cmd?: string[]; entrypoint?: string[]; labels?: Record<string, string> };
  network?: { ports: PortMapping[] } | null;
  health?: { Status: string } | null;
}

/** The flags `pier run` and `pier create` share. */
interface CreateFlags extends LimitAndSecurityFlags, HealthInitFlags {
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  addHost?: string[];
  networkAlias?: string[];
  ip?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  restart?: string;
  label?: Record<string, string>;
  logOpt?: Record<string, string>;
  stopTimeout?: number;
  volume?: string[];
  tmpfs?: string[];
  systemd?: string;
}

interface RunFlags extends CreateFlags {
  detach?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const enc = encodeURIComponent;

async function pullImage(ref: string): Promise<void> {
  const res = await call("POST", "/v1/images/pull", { ref });
  const seen = new Set<string>();
  for await (const line of jsonLines<{
    progress?: { type: string; id?: string };
    error?: { message: string };
  }>(res)) {
    if (line.error) throw new EngineClientError("PULL_FAILED", line.error.message, 500);
    const p = line.progress;
    if (p?.type === "done" && p.id && !seen.has(p.id)) {
      seen.add(p.id);
      commandIo().stderr(`${p.id.slice(7, 19)}: pull complete\n`);
    }
  }
}

async function createContainer(body: Record<string, unknown>): Promise<Record_> {
  try {
    return await callJson<Record_>("POST", "/v1/containers", body);
  } catch (err) {
    if (!(err instanceof EngineClientError) || err.code !== "IMAGE_NOT_FOUND") throw err;
    commandIo().stderr(`Unable to find image '${body.image}' locally\n`);
    await pullImage(String(body.image));
    return callJson<Record_>("POST", "/v1/containers", body);
  }
}

/** One entry of a container's log, as pierd streams it. */
interface LogLine {
  stream: "stdout" | "stderr";
  log: string;
  time: string;
}

/** Copies a container's log entries to stdout/stderr until they end. */
async function printLogs(
  id: string,
  follow: boolean,
  tail?: number,
  more: { since?: string; until?: string; timestamps?: boolean } = {},
): Promise<void> {
  const q = new URLSearchParams({ follow: follow ? "1" : "0" });
  if (tail !== undefined) q.set("tail", String(tail));
  if (more.since) q.set("since", String(logTimeArg(more.since)));
  if (more.until) q.set("until", String(logTimeArg(more.until)));
  const res = await call("GET", `/v1/containers/${enc(id)}/logs?${q}`);
  for await (const e of jsonLines<LogLine>(res)) {
    const io = commandIo();
    (e.stream === "stdout" ? io.stdout : io.stderr)(more.timestamps ? `${e.time} ${e.log}` : e.log);
  }
}

/** docker run's exit code for a start that failed with `message` (its own rule), if it has one. Pure. */
function startFailureCode(message: string): number | undefined {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|cannot execute binary file/.test(message)) return 126;
  return undefined;
}

/**
 * As docker run: a start that failed because the command is not there (127) or cannot run (126)
 * says so and exits with that code; any other failure is thrown on.
 */
function reportStartFailure(err: unknown): void {
  const code = startFailureCode((err as Error).message);
  if (code === undefined) throw err;
  commandIo().stderr(`pier: ${(err as Error).message}\n`);
  commandIo().exitCode = code;
}

/**
 * `pier run` in the foreground without -i/-t: one request (see pierd's `POST
 * /containers/{ref}/run`) starts container `id`, streams its output, removes it with `remove`
 * and ends with its exit code, which becomes this command's.
 */
async function runAttached(id: string, remove: boolean): Promise<void> {
  let res: IncomingMessage;
  try {
    res = await call("POST", `/v1/containers/${id}/run?remove=${remove ? 1 : 0}`);
  } catch (err) {
    reportStartFailure(err);
    return;
  }
  // Without a terminal, ctrl-c and friends go to the container (docker's --sig-proxy).
  proxySignals(id);
  let exit: { exitCode: number } | undefined;
  for await (const e of jsonLines<LogLine | { exit: { exitCode: number } }>(res)) {
    if ("exit" in e) exit = e.exit;
    else (e.stream === "stdout" ? commandIo().stdout : commandIo().stderr)(e.log);
  }
  if (!exit)
    throw new EngineClientError(
      "DAEMON_ERROR",
      `pierd ended container ${id}'s output without its exit code`,
      500,
    );
  commandIo().exitCode = exit.exitCode;
}

/**
 * Registers the options `pier run` and `pier create` share (docker's flags of both), on `cmd`:
 * one definition, so the two commands cannot drift apart.
 */
function addContainerOptions(cmd: Command): Command {
  return addHealthInitFlags(
    addLimitAndSecurityOptions(
      cmd
        .passThroughOptions()
        .option("--rm", "remove the container when it exits")
        .option("-i, --interactive", "keep stdin open and attach it")
        .option("-t, --tty", "allocate a terminal")
        .option("--name <name>", "container name")
        .option("-e, --env <KEY=value>", "set an environment variable (repeatable)", collectEnv)
        .option("-w, --workdir <dir>", "working directory inside the container")
        .option("-u, --user <user>", "user[:group] to run as")
        .option("--entrypoint <cmd>", "override the image's entrypoint")
        .option("--network <mode>", "bridge (default), none, host or a network's name")
        .option(
          "-p, --publish <[ip:][host:]ctr[/proto]>",
          "publish a container port on the host (repeatable)",
          collect,
        )
        .option(
          "--network-alias <name>",
          "another name peers on the network resolve it by (repeatable)",
          collect,
        )
        .option("--ip <address>", "its IPv4 address on its user network")
        .option("-P, --publish-all", "publish every exposed port on a free host port")
        .option("--expose <port[/proto]>", "expose a port without publishing it (repeatable)", collect)
        .option(
          "--add-host <host:ip>",
          "add a line to /etc/hosts (ip may be host-gateway; repeatable)",
          collect,
        )
        .option("--dns <ip>", "nameserver for /etc/resolv.conf (repeatable)", collect)
        .option("--dns-search <domain>", "search domain for /etc/resolv.conf (repeatable)", collect)
        .option("--dns-option <opt>", "resolver option for /etc/resolv.conf (repeatable)", collect)
        .option("--restart <policy>", "no, always, unless-stopped, on-failure[:N]")
        .option("-l, --label <k=v>", "set a label (repeatable)", collectLabel)
        .option("--log-opt <k=v>", "json-file option: max-size=10m, max-file=3 (repeatable)", collectLabel)
        .option("--stop-timeout <s>", "seconds to wait before SIGKILL on stop", parseCount)
        .option("-v, --volume <src:dst[:ro]>", "bind a host path or named volume (repeatable)", collect)
        .option("--tmpfs <dst[:opts]>", "mount a tmpfs (repeatable)", collect)
        .option(
          "--systemd <mode>",
          "boot the command as a system container: true (when it is init or systemd), false, always",
        ),
    ),
  );
}

/**
 * The engine's create request of `pier run`/`pier create IMAGE COMMAND… [flags]` (with `-i`,
 * stdin ends with the first attached client's, as docker's; `run -d` takes that back).
 */
async function createBody(
  image: string,
  command: string[],
  f: CreateFlags,
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { image, ...healthInitBody(f) };
  if (command.length) body.cmd = command;
  if (f.entrypoint !== undefined) body.entrypoint = f.entrypoint ? [f.entrypoint] : [];
  if (f.env) body.env = f.env;
  if (f.workdir) body.workingDir = f.workdir;
  if (f.user) body.user = f.user;
  if (f.name) body.name = f.name;
  if (f.network) body.networkMode = f.network;
  if (f.publish) body.ports = f.publish.flatMap(parsePortSpec);
  if (f.publishAll) body.publishAll = true;
  if (f.expose) body.exposedPorts = f.expose;
  if (f.addHost) body.extraHosts = f.addHost;
  if (f.networkAlias) body.networkAliases = f.networkAlias;
  if (f.ip) body.ipv4Address = f.ip;
  if (f.dns || f.dnsSearch || f.dnsOption)
    body.dns = { servers: f.dns, search: f.dnsSearch, options: f.dnsOption };
  if (f.restart)
    body.restartPolicy = {
      name: f.restart.split(":")[0],
      maximumRetryCount: Number(f.restart.split(":")[1] ?? 0),
    };
  if (f.label) body.labels = f.label;
  if (f.logOpt) body.logOptions = f.logOpt;
  if (f.stopTimeout !== undefined) body.stopTimeout = f.stopTimeout;
  if (f.systemd !== undefined) body.systemd = f.systemd;
  if (f.interactive) {
    body.openStdin = true;
    body.stdinOnce = true;
  }
  if (f.tty) body.tty = true;
  Object.assign(body, limitAndSecurityBody(f));
  if (f.volume?.length || f.tmpfs?.length) {
    // Loaded only then: the engine's config modules are large.
    const { parseBind, parseTmpfs } = await import("../../engine/containers/mount-spec.js");
    body.mounts = [
      ...(f.volume ?? []).map(parseBind),
      ...(f.tmpfs ?? []).map((t) => {
        const colon = t.indexOf(":");
        return colon < 0 ? parseTmpfs(t, "") : parseTmpfs(t.slice(0, colon), t.slice(colon + 1));
      }),
    ];
  }
  return body;
}

/** `pier create [flags] IMAGE [COMMAND…]`: a container made and not started; prints its id (docker create). */
function registerCreateCommand(program: Command): void {
  addContainerOptions(
    program
      .command("create")
      .description("create a container from IMAGE (pulled first when missing) without starting it")
      .argument("<image>", "image reference")
      .argument("[command...]", "command and arguments (default: the image's)"),
  ).action(async (image: string, command: string[], f: CreateFlags) => {
    const body = await createBody(image, command, f);
    if (f.rm) body.autoRemove = true;
    const rec = await createContainer(body);
    commandIo().stdout(`${rec.id}\n`);
  });
}

/** Registers the container commands on `program`. */
export function registerEngineCommands(program: Command): void {
  registerTtyCommands(program);
  registerNetworkCommands(program);
  registerUpdateCommand(program);
  registerCreateCommand(program);
  addContainerOptions(
    program
      .command("run")
      .description("create and start a container from IMAGE (pulled first when missing)")
      .argument("<image>", "image reference")
      .argument("[command...]", "command and arguments (default: the image's)")
      .option("-d, --detach", "run in the background and print the container id"),
  ).action(async (image: string, command: string[], f: RunFlags) => {
    if (!f.detach && (f.interactive || f.tty)) requireOwnProcess("run -i/-t");
    const body = await createBody(image, command, f);
    if (f.rm && f.detach) body.autoRemove = true;
    // In the foreground this command removes it (after its output): pierd mounts it volatile all the same.
    else if (f.rm) body.clientRemoves = true;
    // As docker run -i: stdin ends with this command's (not so with -d).
    if (f.detach) delete body.stdinOnce;
    const rec = await createContainer(body);
    if (!f.detach && !f.interactive && !f.tty) {
      await runAttached(rec.id, f.rm === true);
      return;
    }
    // With -i or -t, attach before the start (nothing is missed) and exit with its code.
    const session = !f.detach
      ? await attachSession(rec.id, { stdin: f.interactive === true, tty: f.tty === true })
      : undefined;
    try {
      await callJson("POST", `/v1/containers/${rec.id}/start`);
    } catch (err) {
      session?.abort();
      if (f.rm) await call("DELETE", `/v1/containers/${rec.id}?force=1&v=1`).catch(() => {});
      reportStartFailure(err);
      return;
    }
    if (!session) {
      commandIo().stdout(`${rec.id}\n`);
      return;
    }
    // Without a terminal, ctrl-c and friends go to the container (docker's --sig-proxy).
    if (!f.tty) proxySignals(rec.id);
    session.followWindow();
    const code = await session.finish();
    if (f.rm) await (await call("DELETE", `/v1/containers/${rec.id}?force=1&v=1`)).resume();
    // Its own process (-i/-t): stdin may never end on its own.
    process.exit(code);
  });

  program
    .command("ps")
    .description("list containers")
    .option("-a, --all", "show all containers (default: running ones)")
    .option("-q, --quiet", "only print ids")
    .option("--no-trunc", "do not cut ids and commands")
    .option("--format <format>", "table, json or a Go template ({{.Names}} {{.Status}})")
    .option(
      "-f, --filter <k=v>",
      "status=, name=, id=, label=, ancestor=, health=, … as docker ps (repeatable)",
      collect,
    )
    .option("-l, --latest", "only the latest created container (any state)")
    .option("-n, --last <n>", "only the n last created containers (any state)", parseCount)
    .action(
      async (f: {
        all?: boolean;
        quiet?: boolean;
        trunc?: boolean;
        format?: string;
        filter?: string[];
        latest?: boolean;
        last?: number;
      }) => {
        const filters = filtersParam(f.filter);
        const limit = f.last ?? (f.latest ? 1 : undefined);
        const list = await callJson<Record_[]>(
          "GET",
          `/v1/containers?all=${f.all ? 1 : 0}${limit !== undefined ? `&limit=${limit}` : ""}${filters ? `&filters=${encodeURIComponent(filters)}` : ""}`,
        );
        const full = f.trunc === false;
        if (f.quiet) {
          for (const r of list) commandIo().stdout(`${full ? r.id : r.id.slice(0, 12)}\n`);
          return;
        }
        const now = Date.now();
        // docker ps's fields, so that its templates and `--format json` read the same here.
        const rows = list.map((r) => ({
          Command: commandColumn([...(r.config.entrypoint ?? []), ...(r.config.cmd ?? [])].join(" "), full),
          CreatedAt: dockerTime(r.createdAt),
          ID: full ? r.id : r.id.slice(0, 12),
          Image: r.config.image,
          Labels: Object.entries(r.config.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
          Names: r.name,
          Ports: formatPorts(r.network?.ports ?? []),
          RunningFor: `${humanDuration(now - Date.parse(r.createdAt))} ago`,
          State: r.status,
          Status: statusText(r, now, healthSuffix(r.health)),
        }));
        emitRows(
          f.format,
          rows,
          ["container id", "image", "command", "created", "status", "ports", "names"],
          (r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names],
        );
      },
    );

  program
    .command("logs")
    .description("print a container's output")
    .argument("<container>", "id, name or id prefix")
    .option("-f, --follow", "keep printing while it runs")
    .option("-n, --tail <n>", "only the last N lines", parseCount)
    .option("-t, --timestamps", "show each line's time")
    .option("--since <time>", "only lines at or after (10m, RFC 3339, unix seconds)")
    .option("--until <time>", "only lines before (10m, RFC 3339, unix seconds)")
    .action(
      async (
        ref: string,
        f: { follow?: boolean; tail?: number; timestamps?: boolean; since?: string; until?: string },
      ) => {
        await printLogs(ref, f.follow === true, f.tail, f);
      },
    );

  for (const verb of ["start", "stop", "restart", "kill"] as const) {
    const cmd = program
      .command(verb)
      .description(`${verb} containers`)
      .argument("<containers...>", "ids, names or id prefixes");
    if (verb === "stop" || verb === "restart")
      cmd.option("-t, --time <s>", "seconds before SIGKILL", parseCount);
    if (verb === "kill") cmd.option("-s, --signal <sig>", "signal to send", "SIGKILL");
    if (verb === "start")
      cmd
        .option("--checkpoint <name>", "restore from this checkpoint (docker start --checkpoint)")
        .option("--checkpoint-dir <dir>", "where the checkpoint is");
    type Flags = { time?: number; signal?: string; checkpoint?: string; checkpointDir?: string };
    cmd.action(async (refs: string[], f: Flags) => {
      for (const ref of refs) {
        const q = new URLSearchParams();
        if (f.time !== undefined) q.set("timeout", String(f.time));
        if (f.signal) q.set("signal", f.signal);
        if (f.checkpoint) q.set("checkpoint", f.checkpoint);
        if (f.checkpointDir) q.set("checkpoint-dir", f.checkpointDir);
        await (await call("POST", `/v1/containers/${enc(ref)}/${verb}?${q}`)).resume();
        commandIo().stdout(`${ref}\n`);
      }
    });
  }

  program
    .command("wait")
    .description("wait for containers to stop and print their exit codes")
    .argument("<containers...>", "ids, names or id prefixes")
    .action(async (refs: string[]) => {
      for (const ref of refs) {
        const r = await callJson<{ exitCode: number }>("POST", `/v1/containers/${enc(ref)}/wait`);
        commandIo().stdout(`${r.exitCode}\n`);
      }
    });

  program
    .command("rm")
    .description("remove containers")
    .argument("<containers...>", "ids, names or id prefixes")
    .option("-f, --force", "kill a running container first")
    .option("-v, --volumes", "remove its anonymous volumes too")
    .action(async (refs: string[], f: { force?: boolean; volumes?: boolean }) => {
      for (const ref of refs) {
        const q = `force=${f.force ? 1 : 0}&v=${f.volumes ? 1 : 0}`;
        await (await call("DELETE", `/v1/containers/${enc(ref)}?${q}`)).resume();
        commandIo().stdout(`${ref}\n`);
      }
    });

  program
    .command("inspect")
    .description("show containers' records as JSON")
    .argument("<containers...>", "ids, names or id prefixes")
    .action(async (refs: string[]) => {
      const out = [];
      for (const ref of refs) out.push(await callJson("GET", `/v1/containers/${enc(ref)}`));
      printJson(out);
    });
}
