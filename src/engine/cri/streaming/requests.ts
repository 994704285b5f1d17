/**
 * The CRI's Exec, Attach and PortForward calls: each validates its request as the kubelet's
 * streaming library and containerd do (a running container or ready sandbox, at least one
 * stream, no stderr with a TTY since a terminal has one output), keeps it under a token of the
 * streaming server and answers with its URL.
 */
import type { CriContainers } from "../containers.js";
import { CriError } from "../error.js";
import { bool, str, strs } from "../fields.js";
import type { Message } from "../grpc.js";
import type { Sandboxes } from "../sandbox.js";
import type { StreamingServer } from "./server.js";

/** The three streaming calls of the RuntimeService on `server`. */
export function streamingCalls(
  server: StreamingServer,
  containers: CriContainers,
  sandboxes: Sandboxes,
): {
  Exec(req: Message): Promise<Message>;
  Attach(req: Message): Promise<Message>;
  PortForward(req: Message): Promise<Message>;
} {
  const streams = (req: Message, call: string) => {
    const want = {
      tty: bool(req, "tty"),
      stdin: bool(req, "stdin"),
      stdout: bool(req, "stdout"),
      stderr: bool(req, "stderr"),
    };
    if (want.tty && want.stderr)
      throw new CriError(
        "INVALID_ARGUMENT",
        `${call}: tty and stderr cannot both be true (a terminal has one output)`,
      );
    if (!want.stdin && !want.stdout && !want.stderr)
      throw new CriError("INVALID_ARGUMENT", `${call}: one of stdin, stdout, or stderr must be set`);
    return want;
  };
  const running = (req: Message, call: string) => {
    const id = str(req, "container_id");
    if (!id) throw new CriError("INVALID_ARGUMENT", `${call}: container_id is required`);
    const { rec } = containers.find(id);
    if (rec.status !== "running")
      throw new CriError("FAILED_PRECONDITION", `${call}: container ${rec.id} is not running`);
    return rec.id;
  };
  return {
    async Exec(req) {
      const want = streams(req, "Exec");
      const cmd = strs(req, "cmd");
      if (!cmd.length) throw new CriError("INVALID_ARGUMENT", "Exec: cmd is required");
      return { url: server.url({ kind: "exec", containerId: running(req, "Exec"), cmd, ...want }) };
    },
    async Attach(req) {
      const want = streams(req, "Attach");
      return { url: server.url({ kind: "attach", containerId: running(req, "Attach"), ...want }) };
    },
    async PortForward(req) {
      const id = str(req, "pod_sandbox_id");
      if (!id) throw new CriError("INVALID_ARGUMENT", "PortForward: pod_sandbox_id is required");
      const { rec } = sandboxes.find(id);
      if (rec.status !== "running")
        throw new CriError("FAILED_PRECONDITION", `PortForward: pod sandbox ${rec.id} is not ready`);
      const ports = (req.port as unknown[] | undefined) ?? [];
      for (const p of ports)
        if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535)
          throw new CriError("INVALID_ARGUMENT", `PortForward: port ${String(p)} is not in 1..65535`);
      return { url: server.url({ kind: "portforward", sandboxId: rec.id, ports: ports as number[] }) };
    },
  };
}
