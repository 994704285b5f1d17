/**
 * Runs a hand-made plan in `native/pier-init` (no runtime around it: the ops act on the helper's
 * own process unless the plan clones), for tests of the helper's side of the plan.
 */
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { ensureHelper } from "../runtime/helper.js";
import { encodePlan, type PlanOp } from "../runtime/plan/ops.js";

/** What the helper said on its sync socket, wrote to stdout, and its exit status. */
export interface HelperRun {
  said: string;
  stdout: string;
  code: number | null;
}

/** Runs `plan` (ops, or bytes already in the wire encoding) with an empty environment. */
export function runHelperPlan(plan: readonly PlanOp[] | Buffer): Promise<HelperRun> {
  const child = spawn(ensureHelper(), ["3"], { stdio: ["ignore", "pipe", "pipe", "pipe"], env: {} });
  const sync = child.stdio[3] as Socket;
  let said = "";
  let stdout = "";
  sync.on("data", (d: Buffer) => {
    said += d.toString();
  });
  sync.on("error", () => {});
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  sync.end(Buffer.isBuffer(plan) ? plan : encodePlan(plan));
  return new Promise((resolve) => child.on("close", (code) => resolve({ said, stdout, code })));
}
