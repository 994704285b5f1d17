/**
 * Renders build events as BuildKit's plain progress does: `#N [stage k/n] INSTRUCTION` when a
 * step starts, its output lines prefixed with `#N` and the seconds since it started, then
 * `#N CACHED` or `#N DONE 0.3s`. One renderer serves `pier build` and pierd's logs.
 */
import type { BuildEvent } from "./builder.js";

/** A progress listener that writes lines through `write`. */
export function renderPlainProgress(write: (line: string) => void): (e: BuildEvent) => void {
  const started = new Map<number, number>();
  const partial = new Map<number, string>();
  const cached = new Set<number>();
  return (e) => {
    switch (e.kind) {
      case "step":
        started.set(e.id, Date.now());
        write(`#${e.id} [${e.stage} ${e.step}/${e.steps}] ${e.text}\n`);
        break;
      case "output": {
        const t = ((Date.now() - (started.get(e.id) ?? Date.now())) / 1000).toFixed(3);
        const text = (partial.get(e.id) ?? "") + e.data.toString("utf8");
        const lines = text.split("\n");
        partial.set(e.id, lines.pop() ?? "");
        for (const l of lines) write(`#${e.id} ${t} ${l}\n`);
        break;
      }
      case "cached":
        cached.add(e.id);
        write(`#${e.id} CACHED\n`);
        break;
      case "done": {
        const rest = partial.get(e.id);
        if (rest) write(`#${e.id} ${rest}\n`);
        partial.delete(e.id);
        if (!cached.delete(e.id)) write(`#${e.id} DONE ${e.seconds.toFixed(1)}s\n`);
        break;
      }
      case "warning":
        write(`WARNING: ${e.message}\n`);
        break;
    }
  };
}
