/**
 * The few iptables calls pier makes itself (the CNI plugins make the rest): the FORWARD
 * chain's policy, and rules that are added once and removed by their exact arguments.
 * `-w` waits for the xtables lock, which the plugins take too.
 */
import { spawn } from "node:child_process";
import { NetworkError } from "./error.js";

/** iptables in this process's network namespace, or in that of process `netnsOf` (nsenter). */
function iptables(
  args: string[],
  netnsOf?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] =
      netnsOf === undefined
        ? ["iptables", ["-w", ...args]]
        : ["nsenter", [`--net=/proc/${netnsOf}/ns/net`, "--", "iptables", "-w", ...args]];
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", (e) => reject(new NetworkError("CNI_FAILED", `cannot run iptables: ${e.message}`)));
    child.on("close", (code) => resolve({ code, stdout, stderr: stderr.trim() }));
  });
}

/** The policy of `filter FORWARD` (`ACCEPT`, `DROP`); `DROP` when it cannot be read. */
export async function forwardPolicy(): Promise<string> {
  const r = await iptables(["-S", "FORWARD", "1"]).catch(() => undefined);
  const first = r?.code === 0 ? r.stdout.split("\n")[0] : undefined;
  return /^-P FORWARD (\w+)/.exec(first ?? "")?.[1] ?? "DROP";
}

/** Appends a rule unless it is there already. Throws `CNI_FAILED` with iptables' message. */
export async function ensureRule(table: string, chain: string, rule: string[]): Promise<void> {
  if ((await iptables(["-t", table, "-C", chain, ...rule])).code === 0) return;
  const r = await iptables(["-t", table, "-A", chain, ...rule]);
  if (r.code !== 0)
    throw new NetworkError("CNI_FAILED", `iptables -t ${table} -A ${chain} ${rule.join(" ")}: ${r.stderr}`);
}

/**
 * Inserts a rule first in its chain, in this network namespace or in that of process
 * `netnsOf`. Throws `CNI_FAILED` with iptables' message.
 */
export async function insertRule(
  table: string,
  chain: string,
  rule: string[],
  netnsOf?: number,
): Promise<void> {
  const r = await iptables(["-t", table, "-I", chain, "1", ...rule], netnsOf);
  if (r.code !== 0)
    throw new NetworkError("CNI_FAILED", `iptables -t ${table} -I ${chain} 1 ${rule.join(" ")}: ${r.stderr}`);
}

/** Deletes every copy of a rule (in process `netnsOf`'s network namespace if given); absent is fine. */
export async function deleteRule(
  table: string,
  chain: string,
  rule: string[],
  netnsOf?: number,
): Promise<void> {
  for (let i = 0; i < 16; i++)
    if ((await iptables(["-t", table, "-D", chain, ...rule], netnsOf)).code !== 0) return;
}
