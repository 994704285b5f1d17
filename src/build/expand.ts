/**
 * Variable expansion and word splitting of Dockerfile arguments, as Docker's shell lexer
 * (`moby/buildkit/frontend/dockerfile/shell`) does: single quotes literal, double quotes expand
 * variables and honour the escapeChar character before `"`, `$` and itself, the escapeChar character
 * outside quotes takes the next character literally; `$VAR`, `${VAR}`, `${VAR:-word}`,
 * `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?message}`, `${VAR?message}`. Unset
 * variables expand to nothing. Unquoted variable values are split into words, quoted ones not.
 */
import { BuildError } from "./error.js";

/** Looks a variable up; `undefined` when unset. */
export type Lookup = (name: string) => string | undefined;

/** Collects characters into words: whitespace outside quotes ends a word. */
class Words {
  readonly words: string[] = [];
  private current = "";
  /** A word was started (even an empty `""`), so it is kept when it ends. */
  private started = false;

  /** A character that may split (unquoted). */
  add(ch: string): void {
    if (ch === " " || ch === "\t" || ch === "\n") this.end();
    else this.raw(ch);
  }

  /** A character kept as it is (quoted or escaped). */
  raw(ch: string): void {
    this.current += ch;
    this.started = true;
  }

  /** Marks that a word exists even when empty (`""`). */
  touch(): void {
    this.started = true;
  }

  end(): void {
    if (this.started) this.words.push(this.current);
    this.current = "";
    this.started = false;
  }
}

class Lexer {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly lookup: Lookup,
    private readonly escapeChar: string,
  ) {}

  /** Processes until the end or an unquoted `stop` character (consumed); returns the words. */
  run(out: Words, stop?: string): void {
    const s = this.src;
    while (this.pos < s.length) {
      const ch = s[this.pos]!;
      if (stop !== undefined && ch === stop) {
        this.pos++;
        return;
      }
      if (ch === "'") this.single(out);
      else if (ch === '"') this.double(out);
      else if (ch === "$") this.variable(out, false);
      else if (ch === this.escapeChar) {
        this.pos++;
        if (this.pos >= s.length) out.raw(ch);
        else out.raw(s[this.pos++]!);
      } else {
        out.add(ch);
        this.pos++;
      }
    }
    if (stop !== undefined) throw new BuildError("DOCKERFILE_SYNTAX", `missing '${stop}' in ${this.src}`);
  }

  private single(out: Words): void {
    const s = this.src;
    this.pos++;
    out.touch();
    const end = s.indexOf("'", this.pos);
    if (end < 0)
      throw new BuildError(
        "DOCKERFILE_SYNTAX",
        `unexpected end of statement while looking for matching single-quote in ${s}`,
      );
    for (const c of s.slice(this.pos, end)) out.raw(c);
    this.pos = end + 1;
  }

  private double(out: Words): void {
    const s = this.src;
    this.pos++;
    out.touch();
    while (this.pos < s.length) {
      const ch = s[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return;
      }
      if (ch === "$") {
        this.variable(out, true);
        continue;
      }
      if (ch === this.escapeChar && this.pos + 1 < s.length) {
        const next = s[this.pos + 1]!;
        if (next === '"' || next === "$" || next === this.escapeChar) {
          out.raw(next);
          this.pos += 2;
          continue;
        }
      }
      out.raw(ch);
      this.pos++;
    }
    throw new BuildError(
      "DOCKERFILE_SYNTAX",
      `unexpected end of statement while looking for matching double-quote in ${s}`,
    );
  }

  private variable(out: Words, quoted: boolean): void {
    const s = this.src;
    this.pos++; // $
    const emit = (v: string) => {
      for (const c of v) quoted ? out.raw(c) : out.add(c);
    };
    if (s[this.pos] === "{") {
      this.pos++;
      const name = this.name();
      if (name === "") throw new BuildError("DOCKERFILE_SYNTAX", `bad substitution in ${s}`);
      const value = this.lookup(name);
      const c = s[this.pos];
      if (c === "}") {
        this.pos++;
        emit(value ?? "");
        return;
      }
      const colon = c === ":";
      if (colon) this.pos++;
      const op = s[this.pos];
      if (op !== "-" && op !== "+" && op !== "?")
        throw new BuildError(
          "UNSUPPORTED",
          `unsupported modifier (${colon ? ":" : ""}${op ?? ""}) in substitution of ${name} in ${s}`,
        );
      this.pos++;
      // The word is expanded as its own string (quotes inside it apply), never split here.
      const inner = new Words();
      this.run(inner, "}");
      inner.end();
      const word = inner.words.join(" ");
      const unset = colon ? value === undefined || value === "" : value === undefined;
      if (op === "-") emit(unset ? word : value!);
      else if (op === "+") emit(unset ? "" : word);
      else if (unset)
        throw new BuildError("INVALID_ARGUMENT", `${name}: ${word || "is not allowed to be unset"}`);
      else emit(value!);
      return;
    }
    const name = this.name();
    if (name === "") {
      quoted ? out.raw("$") : out.add("$");
      return;
    }
    emit(this.lookup(name) ?? "");
  }

  private name(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(this.src.slice(this.pos));
    if (!m) return "";
    this.pos += m[0].length;
    return m[0];
  }
}

/** Expands `text` and splits it into words (COPY sources, EXPOSE ports, VOLUME paths…). */
export function expandWords(text: string, lookup: Lookup, escapeChar = "\\"): string[] {
  const out = new Words();
  new Lexer(text, lookup, escapeChar).run(out);
  out.end();
  return out.words;
}

/** Expands `text` as one word: quotes removed, variables substituted, whitespace kept. */
export function expandWord(text: string, lookup: Lookup, escapeChar = "\\"): string {
  const out = new Words();
  new Lexer(text, lookup, escapeChar).run(out);
  out.end();
  // Whitespace outside quotes separated the pieces; as one word it is one space (as Docker's ProcessWord).
  return out.words.join(" ");
}

/**
 * Splits `text` at unquoted whitespace without expanding or unquoting anything: the `key=value`
 * words of ENV, LABEL and ARG, each expanded afterwards.
 */
export function splitRawWords(text: string, escapeChar = "\\"): string[] {
  const words: string[] = [];
  let cur = "";
  let quote = "";
  let started = false;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quote) {
      if (c === escapeChar && quote === '"' && k + 1 < text.length) {
        cur += c + text[++k]!;
        continue;
      }
      if (c === quote) quote = "";
      cur += c;
      continue;
    }
    if (c === escapeChar && k + 1 < text.length) {
      cur += c + text[++k]!;
      started = true;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (started) words.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quote) throw new BuildError("DOCKERFILE_SYNTAX", `unmatched ${quote} in ${text}`);
  if (started) words.push(cur);
  return words;
}
