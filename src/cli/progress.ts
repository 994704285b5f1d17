/**
 * Renders transfer progress events (`src/remote/progress-events.ts`) the way `docker pull` does:
 * on a terminal one live line per blob with a bar, bytes, speed and ETA; otherwise one plain line
 * per finished blob; nothing with `quiet`. Formatting is pure; only `ProgressRenderer` writes.
 */
import type { Writable } from "node:stream";
import type { ProgressEvent, ProgressListener } from "../remote/index.js";

/** `1.5 MB`-style size with decimal units, as docker prints them. Pure. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** `1m05s`/`42s`; `--` when unknown. Pure. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A `[=====>     ]` bar of `width` cells for `fraction` in [0,1]. Pure. */
export function progressBar(fraction: number, width = 30): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  if (full >= width) return `[${"=".repeat(width)}]`;
  return `[${"=".repeat(full)}>${" ".repeat(width - full - 1)}]`;
}

/** The short id docker shows for a blob: 12 hex characters of its digest. Pure. */
export function shortId(digest: string): string {
  const hex = digest.slice(digest.indexOf(":") + 1);
  return hex.slice(0, 12);
}

/** What a renderer shows for one blob. */
interface BlobLine {
  id: string;
  size: number;
  transferred: number;
  status: "active" | "done" | "exists" | "mounted";
  from?: string;
  startedAt: number;
}

/** Words of one direction. */
export interface ProgressVerbs {
  /** "Downloading" or "Pushing". */
  active: string;
  /** "Pull complete" or "Pushed". */
  done: string;
}

/** Default words for pulls and pushes. */
export const PULL_VERBS: ProgressVerbs = { active: "Downloading", done: "Pull complete" };
export const PUSH_VERBS: ProgressVerbs = { active: "Pushing", done: "Pushed" };

/** One blob's line, as the terminal shows it. Pure. */
export function formatLine(line: BlobLine, verbs: ProgressVerbs, now: number): string {
  const id = shortId(line.id);
  if (line.status === "exists") return `${id}: Already exists`;
  if (line.status === "mounted") return `${id}: Mounted from ${line.from ?? "another repository"}`;
  if (line.status === "done") return `${id}: ${verbs.done}`;
  const elapsed = Math.max(0.001, (now - line.startedAt) / 1000);
  const speed = line.transferred / elapsed;
  const eta = speed > 0 ? (line.size - line.transferred) / speed : Number.NaN;
  const fraction = line.size > 0 ? line.transferred / line.size : 0;
  return (
    `${id}: ${verbs.active} ${progressBar(fraction)} ${formatBytes(line.transferred)}/${formatBytes(line.size)}` +
    `  ${formatBytes(Math.round(speed))}/s  ETA ${formatDuration(eta)}`
  );
}

/** Options of {@link ProgressRenderer}. */
export interface ProgressRendererOptions {
  /** Where to write; default `process.stderr`. */
  stream?: Writable & { isTTY?: boolean };
  /** Force live (terminal) or plain output; default: live when the stream is a TTY. */
  tty?: boolean;
  /** Print nothing. */
  quiet?: boolean;
  verbs?: ProgressVerbs;
  /** Minimum time between two redraws on a terminal. */
  redrawMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Turns progress events into output. Pass `renderer.listener` as `onProgress`, and call
 * `finish()` at the end (draws the final state on a terminal).
 */
export class ProgressRenderer {
  private readonly lines = new Map<string, BlobLine>();
  private readonly stream: Writable;
  private readonly live: boolean;
  private readonly quiet: boolean;
  private readonly verbs: ProgressVerbs;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private drawn = 0;
  private lastDraw = 0;

  constructor(opts: ProgressRendererOptions = {}) {
    const stream = opts.stream ?? process.stderr;
    this.stream = stream;
    this.live = opts.tty ?? stream.isTTY === true;
    this.quiet = opts.quiet === true;
    this.verbs = opts.verbs ?? PULL_VERBS;
    this.redrawMs = opts.redrawMs ?? 100;
    this.now = opts.now ?? Date.now;
  }

  /** The listener to hand to a transfer. */
  readonly listener: ProgressListener = (e) => this.handle(e);

  /** Applies one event. Never throws. */
  handle(e: ProgressEvent): void {
    if (this.quiet) return;
    if (e.type === "manifest" || e.type === "retry") {
      if (e.type === "retry" && !this.live) {
        this.stream.write(
          `retrying in ${formatDuration(e.delayMs / 1000)} (attempt ${e.attempt}): ${e.reason}\n`,
        );
      }
      return;
    }
    const now = this.now();
    let line = this.lines.get(e.id);
    if (!line) {
      line = { id: e.id, size: e.size, transferred: 0, status: "active", startedAt: now };
      this.lines.set(e.id, line);
    }
    let finished = false;
    if (e.type === "bytes") line.transferred = e.transferred;
    else if (e.type === "done") {
      line.status = "done";
      line.transferred = line.size;
      finished = true;
    } else if (e.type === "exists") {
      line.status = "exists";
      finished = true;
    } else if (e.type === "mounted") {
      line.status = "mounted";
      line.from = e.from;
      finished = true;
    }
    if (!this.live) {
      if (finished) this.stream.write(`${formatLine(line, this.verbs, now)}\n`);
      return;
    }
    if (finished || e.type === "start" || now - this.lastDraw >= this.redrawMs) this.draw(now);
  }

  private draw(now: number): void {
    this.lastDraw = now;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    for (const line of this.lines.values()) out += `\r\x1b[2K${formatLine(line, this.verbs, now)}\n`;
    this.drawn = this.lines.size;
    this.stream.write(out);
  }

  /** Draws the final state (terminal) and forgets the lines. */
  finish(): void {
    if (!this.quiet && this.live && this.lines.size) this.draw(this.now());
    this.lines.clear();
    this.drawn = 0;
  }
}
