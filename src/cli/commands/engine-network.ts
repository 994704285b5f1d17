/**
 * `pier network create|ls|inspect|rm`: thin commands over pierd's own API
 * (`/v1/networks`, docs/engine-api.yaml), with docker's flags.
 */
import type { Command } from "commander";
import { dockerTime } from "../../engine/containers/status-text.js";
import type { NetworkView } from "../../engine/network/view.js";
import { collect, collectLabel } from "../args.js";
import { commandIo } from "../io.js";
import { printJson } from "../output.js";
import { call, callJson } from "./engine-client.js";
import { emitRows, filtersParam } from "./engine-ops.js";

const enc = encodeURIComponent;

/** Registers `pier network …` on `program`. */
export function registerNetworkCommands(program: Command): void {
  const network = program.command("network").description("manage networks (CNI bridge networks)");

  network
    .command("create")
    .description("create a bridge network")
    .argument("<name>", "network name")
    .option("--subnet <cidr>", "IPv4 subnet (default: a free one from 172.18-31.0.0/16, 192.168.N.0/20)")
    .option("--gateway <ip>", "gateway address (default: the subnet's first)")
    .option("-d, --driver <driver>", "network driver (only bridge)", "bridge")
    .option("-l, --label <k=v>", "set a label (repeatable)", collectLabel)
    .action(
      async (
        name: string,
        f: { subnet?: string; gateway?: string; driver: string; label?: Record<string, string> },
      ) => {
        if (f.driver !== "bridge")
          throw new Error(`network driver ${f.driver} is not supported (only bridge)`);
        const n = await callJson<NetworkView>("POST", "/v1/networks", {
          name,
          ...(f.subnet ? { subnet: f.subnet } : {}),
          ...(f.gateway ? { gateway: f.gateway } : {}),
          ...(f.label ? { labels: f.label } : {}),
        });
        commandIo().stdout(`${n.id}\n`);
      },
    );

  network
    .command("ls")
    .alias("list")
    .description("list networks")
    .option("-q, --quiet", "only print ids")
    .option("--format <format>", "table, json or a Go template ({{.Name}} {{.Driver}})")
    .option(
      "-f, --filter <k=v>",
      "name=, id=, label=, driver=, type=, scope=, dangling= (repeatable)",
      collect,
    )
    .action(async (f: { quiet?: boolean; format?: string; filter?: string[] }) => {
      const filters = filtersParam(f.filter);
      const list = await callJson<NetworkView[]>(
        "GET",
        `/v1/networks${filters ? `?filters=${encodeURIComponent(filters)}` : ""}`,
      );
      if (f.quiet) {
        for (const n of list) commandIo().stdout(`${n.id.slice(0, 12)}\n`);
        return;
      }
      // docker network ls's fields, so that its templates and `--format json` read the same here.
      const row = (id: string, name: string, driver: string, created = "", labels = {}) => ({
        CreatedAt: dockerTime(created),
        Driver: driver,
        ID: id.slice(0, 12),
        IPv6: "false",
        Internal: "false",
        Labels: Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
        Name: name,
        Scope: "local",
      });
      const rows = [
        ...list.map((n) => row(n.id, n.name, "bridge", n.created, n.labels)),
        // The predefined ones have no definition for the daemon's filters to match: only unfiltered.
        ...(filters ? [] : [row("", "host", "host"), row("", "none", "null")]),
      ];
      emitRows(f.format, rows, ["network id", "name", "driver", "subnet", "containers"], (r, i) => [
        r.ID,
        r.Name,
        r.Driver,
        list[i]?.subnet ?? "",
        list[i] ? String(list[i].containers.length) : "",
      ]);
    });

  network
    .command("inspect")
    .description("show networks as JSON")
    .argument("<networks...>", "names, ids or id prefixes")
    .action(async (refs: string[]) => {
      const out: NetworkView[] = [];
      for (const r of refs) out.push(await callJson<NetworkView>("GET", `/v1/networks/${enc(r)}`));
      printJson(out);
    });

  for (const verb of ["connect", "disconnect"] as const) {
    const cmd = network
      .command(verb)
      .description(
        verb === "connect"
          ? "put a container on one more network (now if it runs, and at every start)"
          : "take a container off a network it was connected to",
      )
      .argument("<network>", "name, id or id prefix")
      .argument("<container>", "id, name or id prefix");
    if (verb === "connect")
      cmd.option(
        "--alias <name>",
        "another name peers resolve it by (repeatable)",
        (v: string, p: string[] = []) => [...p, v],
      );
    cmd.action(async (net: string, container: string, f: { alias?: string[] }) => {
      await callJson("POST", `/v1/networks/${enc(net)}/${verb}`, {
        container,
        ...(f.alias ? { aliases: f.alias } : {}),
      });
    });
  }

  network
    .command("rm")
    .alias("remove")
    .description("remove networks (refused while a container uses one)")
    .argument("<networks...>", "names, ids or id prefixes")
    .action(async (refs: string[]) => {
      for (const r of refs) {
        (await call("DELETE", `/v1/networks/${enc(r)}`)).resume();
        commandIo().stdout(`${r}\n`);
      }
    });
}
