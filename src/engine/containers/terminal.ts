/**
 * A container's terminal (Docker's `Tty`): where its monitor receives the pty master and reads
 * resize requests, and resizing it. The monitor applies TIOCSWINSZ itself (see
 * `native/pier-monitor.c`), so pierd never holds the pty.
 */
import { join } from "node:path";
import { EngineError } from "../error.js";
import type { ContainerConfig } from "./config.js";
import { type MonitorFiles, sendResize } from "./monitor.js";
import type { ContainerService } from "./service.js";

/** The unix socket on which a container's monitor receives its pty master. Pure. */
export function consoleSocketPath(execRoot: string, id: string): string {
  return join(execRoot, "a", `${id.slice(0, 16)}.con`);
}

/** The FIFO through which a container's monitor takes resize requests. Pure. */
export function controlFifoPath(execRoot: string, id: string): string {
  return join(execRoot, "a", `${id.slice(0, 16)}.ctl`);
}

/** The monitor's terminal files for a container (none without `tty`). Pure. */
export function terminalFiles(
  execRoot: string,
  id: string,
  config: Pick<ContainerConfig, "tty">,
): Pick<MonitorFiles, "consoleSocket" | "controlFifo"> {
  if (!config.tty) return {};
  return { consoleSocket: consoleSocketPath(execRoot, id), controlFifo: controlFifoPath(execRoot, id) };
}

/**
 * Resizes the terminal of running container `ref` (`POST /containers/{id}/resize`).
 * `INVALID_STATE` (409) unless it runs; a container without a terminal has nothing to resize,
 * which is not an error (as Docker, the CLI may ask anyway).
 */
export function resizeContainer(svc: ContainerService, ref: string, rows: number, cols: number): void {
  const rec = svc.find(ref);
  if (rec.status !== "running") throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
  if (!rec.config.tty) return;
  if (!sendResize(controlFifoPath(svc.execRoot, rec.id), rows, cols))
    throw new EngineError("INVALID_STATE", `Container ${rec.id}: its terminal is gone`);
}
