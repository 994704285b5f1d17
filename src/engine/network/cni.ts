/**
 * A small CNI runtime: executes the plugins of a network configuration list as the CNI spec
 * says (CNI_COMMAND ADD/DEL/CHECK, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH in the
 * environment, the plugin's config on stdin, the result or error on stdout).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CniResult, parseCniError, parseCniResult } from "./cni-result.js";
import { type CniConflist, pluginInput } from "./conflist.js";
import { NetworkError } from "./error.js";

/** Where Debian's containernetworking-plugins installs the plugins. */
export const DEFAULT_CNI_PATH = "/usr/lib/cni";

/** What identifies one attachment of a container to a network. */
export interface CniAttachment {
  containerId: string;
  /** Path of the network namespace (a bind-mounted nsfs file). */
  netns: string;
  ifname: string;
}

/** Runs CNI plugins from one directory. */
export class CniInvoker {
  constructor(readonly pluginDir: string = DEFAULT_CNI_PATH) {}

  /** Runs one plugin; resolves with its stdout. Throws `CNI_FAILED` with the plugin's message. */
  private exec(
    command: "ADD" | "DEL" | "CHECK",
    type: string,
    att: CniAttachment,
    input: Record<string, unknown>,
  ): Promise<string> {
    const bin = join(this.pluginDir, type);
    if (!/^[a-z0-9_-]+$/i.test(type) || !existsSync(bin))
      return Promise.reject(
        new NetworkError(
          "CNI_FAILED",
          `CNI plugin ${JSON.stringify(type)} not found in ${this.pluginDir} (install Debian's containernetworking-plugins)`,
        ),
      );
    return new Promise((resolve, reject) => {
      const child = spawn(bin, [], {
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          CNI_COMMAND: command,
          CNI_CONTAINERID: att.containerId,
          CNI_NETNS: att.netns,
          CNI_IFNAME: att.ifname,
          CNI_PATH: this.pluginDir,
        },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new NetworkError("CNI_FAILED", `CNI plugin ${type} ${command}: ${e.message}`, { cause: e }));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) {
          resolve(out);
          return;
        }
        const e = parseCniError(out);
        const why = e
          ? `${e.msg}${e.details ? ` (${e.details})` : ""}`
          : (err.trim() || out.trim() || `exit ${code ?? signal}`).slice(0, 2000);
        reject(
          new NetworkError("CNI_FAILED", `CNI plugin ${type} ${command} failed: ${why}`, {
            detail: { plugin: type, command, ...(e ? { cniCode: e.code } : {}) },
          }),
        );
      });
      child.stdin.on("error", () => {});
      child.stdin.end(JSON.stringify(input));
    });
  }

  /**
   * ADD through every plugin of `list`, each getting the previous one's result. On a failure the
   * list is DELeted again (so nothing stays half-attached) and the first error is thrown.
   */
  async add(
    list: CniConflist,
    att: CniAttachment,
    runtimeConfig: Record<string, unknown> = {},
  ): Promise<CniResult> {
    let prev: CniResult | undefined;
    try {
      for (let i = 0; i < list.plugins.length; i++) {
        const out = await this.exec(
          "ADD",
          list.plugins[i]!.type,
          att,
          pluginInput(list, i, prev, runtimeConfig),
        );
        prev = parseCniResult(out);
      }
    } catch (err) {
      await this.del(list, att, runtimeConfig, prev).catch(() => {});
      throw err;
    }
    if (!prev) throw new NetworkError("CNI_INVALID_RESULT", `network ${list.name} has no plugins`);
    return prev;
  }

  /**
   * DEL through the plugins in reverse order with the ADD result as `prevResult`. Every plugin
   * runs even when one fails (DEL must release what it can); the first error is thrown after.
   */
  async del(
    list: CniConflist,
    att: CniAttachment,
    runtimeConfig: Record<string, unknown> = {},
    prevResult?: CniResult,
  ): Promise<void> {
    let first: unknown;
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      try {
        await this.exec("DEL", list.plugins[i]!.type, att, pluginInput(list, i, prevResult, runtimeConfig));
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  }

  /** CHECK through every plugin: throws `CNI_FAILED` when the attachment is not as ADD left it. */
  async check(
    list: CniConflist,
    att: CniAttachment,
    prevResult: CniResult,
    runtimeConfig: Record<string, unknown> = {},
  ): Promise<void> {
    for (let i = 0; i < list.plugins.length; i++)
      await this.exec("CHECK", list.plugins[i]!.type, att, pluginInput(list, i, prevResult, runtimeConfig));
  }
}
