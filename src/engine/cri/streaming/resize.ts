/**
 * The resize stream of a TTY session: JSON objects `{"Width":W,"Height":H}` one after another
 * (client-go's json.Encoder puts a newline after each, a WebSocket client may not), split as
 * they complete, bounded in size. Pure.
 */

/** A terminal size asked for by the client. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** The longest object pier buffers (a size is about 30 bytes). */
const MAX_OBJECT = 4096;

/** Splits a byte stream into terminal sizes as their objects complete. */
export class ResizeReader {
  private buf = "";

  /** The sizes `chunk` completes; throws on an object too long or not a size. */
  push(chunk: Buffer): TerminalSize[] {
    this.buf += chunk.toString("utf8");
    const out: TerminalSize[] = [];
    for (;;) {
      const start = this.buf.search(/\S/);
      if (start < 0) {
        this.buf = "";
        break;
      }
      const end = objectEnd(this.buf, start);
      if (end < 0) {
        if (this.buf.length - start > MAX_OBJECT)
          throw new Error(`resize message longer than ${MAX_OBJECT} bytes`);
        this.buf = this.buf.slice(start);
        break;
      }
      out.push(terminalSize(this.buf.slice(start, end)));
      this.buf = this.buf.slice(end);
    }
    return out;
  }
}

/** The index after the JSON object starting at `start`, or -1 while it is incomplete. */
function objectEnd(s: string, start: number): number {
  if (s[start] !== "{")
    throw new Error(`resize message is not a JSON object: ${JSON.stringify(s.slice(start, start + 40))}`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

/** A terminal size from one JSON object; both numbers must be integers in 0..65535. */
export function terminalSize(text: string): TerminalSize {
  const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
  const ok = (n: unknown): n is number =>
    Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
  if (!ok(v.Width) || !ok(v.Height))
    throw new Error(`resize message ${text.slice(0, 80)}: Width and Height must be integers in 0..65535`);
  return { width: v.Width, height: v.Height };
}
