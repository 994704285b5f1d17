/**
 * The Dockerfile reader: turns the text into raw instructions as BuildKit's parser does —
 * parser directives at the top (`# escape=`, `# syntax=` noted and ignored, `# check=`), comments,
 * line continuations with the escape character (comment and empty lines inside a continuation
 * skipped), heredocs (`<<EOF`, `<<-EOF`, quoted words disable expansion) for RUN, COPY and ADD,
 * leading `--flag[=value]` words and the JSON (exec) form. What each instruction means is
 * decided later ({@link import("./instructions.js")}).
 */
import { syntaxError } from "./error.js";

/** A heredoc body attached to an instruction. */
export interface Heredoc {
  /** The delimiter word (`EOF`). */
  name: string;
  /** The body, every line ending in `\n`. */
  content: string;
  /** False when the word was quoted (`<<"EOF"`): no variable expansion in the body. */
  expand: boolean;
}

/** One instruction as written. */
export interface RawInstruction {
  /** Upper-case keyword (`RUN`). */
  keyword: string;
  /** The leading `--name[=value]` words, without the dashes: `["mount=type=cache,target=/x"]`. */
  flags: string[];
  /** The text after the keyword and the flags, continuations joined (the shell form). */
  rest: string;
  /** The JSON (exec) form, when `rest` is a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** First line (1-based) of the instruction. */
  line: number;
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** The file name used in messages. */
  file: string;
  escape: string;
  instructions: RawInstruction[];
  /** Notes for the user (an ignored `# syntax=` frontend, empty continuation lines). */
  warnings: string[];
}

const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const HEREDOC_KEYWORDS = new Set(["RUN", "COPY", "ADD"]);
/** Largest Dockerfile read (BuildKit's own limit is far above any real file; bounded all the same). */
export const MAX_DOCKERFILE_BYTES = 8 << 20;

/** Parses `text` (the content of `file`). Throws `BuildError` `DOCKERFILE_SYNTAX` naming the line. */
export function parseDockerfile(text: string, file = "Dockerfile"): Dockerfile {
  if (Buffer.byteLength(text) > MAX_DOCKERFILE_BYTES)
    throw syntaxError(file, 1, `the file is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const warnings: string[] = [];
  let escapeChar = "\\";
  let i = 0;
  // Parser directives: only at the very top, each at most once.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) break;
    if (seen.has(name)) throw syntaxError(file, i + 1, `only one ${name} parser directive can be used`);
    seen.add(name);
    const value = m[2]!;
    if (name === "escape") {
      if (value !== "\\" && value !== "`")
        throw syntaxError(file, i + 1, `invalid escape token '${value}' does not match ` + "` or \\");
      escapeChar = value;
    } else if (name === "syntax") {
      warnings.push(`${file}:${i + 1}: # syntax=${value} ignored: pier's own frontend builds this file`);
    }
  }
  const continuation = new RegExp(`${escapeRegExp(escapeChar)}[ \\t]*$`);
  const instructions: RawInstruction[] = [];
  while (i < lines.length) {
    const first = lines[i]!.trim();
    if (first === "" || first.startsWith("#")) {
      i++;
      continue;
    }
    const start = i + 1;
    let logical = "";
    let line = lines[i]!.replace(/^[ \t]+/, "");
    i++;
    // Join continuation lines; comment lines and empty lines inside are dropped, as BuildKit does.
    while (continuation.test(line)) {
      logical += line.replace(continuation, "");
      let next: string | undefined;
      while (i < lines.length) {
        const candidate = lines[i]!;
        i++;
        const t = candidate.trim();
        if (t.startsWith("#")) continue;
        if (t === "") {
          warnings.push(`${file}:${i}: empty continuation line`);
          continue;
        }
        next = candidate.replace(/^[ \t]+/, "");
        break;
      }
      if (next === undefined) {
        line = "";
        break;
      }
      line = next;
    }
    logical += line;
    const parsed = splitInstruction(logical, file, start);
    if (HEREDOC_KEYWORDS.has(parsed.keyword)) {
      for (const m of parsed.rest.matchAll(HEREDOC)) {
        const strip = m[1] === "-";
        const name = m[3]!;
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const raw = lines[i]!;
          i++;
          const l = strip ? raw.replace(/^\t+/, "") : raw;
          if (l === name) {
            closed = true;
            break;
          }
          body.push(l);
        }
        if (!closed) throw syntaxError(file, start, `unterminated heredoc <<${name}`);
        parsed.heredocs.push({ name, content: body.map((b) => `${b}\n`).join(""), expand: m[2] === "" });
      }
    }
    instructions.push(parsed);
  }
  return { file, escape: escapeChar, instructions, warnings };
}

/** Splits a logical line into keyword, leading flags, rest and (when it is one) the JSON form. */
function splitInstruction(logical: string, file: string, line: number): RawInstruction {
  const m = /^(\S+)\s*(.*)$/s.exec(logical.trim());
  if (!m) throw syntaxError(file, line, "empty instruction");
  const keyword = m[1]!.toUpperCase();
  if (!/^[A-Z]+$/.test(keyword)) throw syntaxError(file, line, `unknown instruction: ${m[1]}`);
  let rest = m[2]!;
  const flags: string[] = [];
  while (rest.startsWith("--")) {
    const end = wordEnd(rest);
    const word = rest.slice(2, end);
    if (word === "") break;
    flags.push(word);
    rest = rest.slice(end).trimStart();
  }
  const out: RawInstruction = { keyword, flags, rest: rest.trimEnd(), heredocs: [], line };
  if (rest.startsWith("[")) {
    const json = parseJsonArray(rest.trimEnd());
    if (json) out.json = json;
  }
  return out;
}

/** Index after the word starting at 0 (whitespace ends it, except inside quotes). */
function wordEnd(s: string): number {
  let quote = "";
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === " " || c === "\t") return k;
  }
  return s.length;
}

/** The strings of a JSON array of strings, or `undefined` when `s` is not one (then it is shell form). */
function parseJsonArray(s: string): string[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) return undefined;
  return v as string[];
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
