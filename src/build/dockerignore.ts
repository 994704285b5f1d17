/**
 * `.dockerignore` (and `.containerignore`) as Docker's `patternmatcher` reads them: one pattern a
 * line, `#` lines are comments, surrounding whitespace trimmed, paths cleaned (`./a/../b` is
 * `b`, a leading `/` dropped), `!` makes an exception; `*` and `?` never match `/`, `**` matches
 * any number of directories, `[...]` classes and `\` escapes as Go's `filepath.Match`. A path is
 * excluded when the last pattern that matches it — or one of its parent directories — is not an
 * exception.
 */
import { posix } from "node:path";
import { BuildError } from "./error.js";

interface Pattern {
  exclusion: boolean;
  source: string;
  re: RegExp;
}

/** Compiled ignore rules. */
export class IgnoreMatcher {
  private readonly patterns: Pattern[];

  /** Compiles the text of an ignore file (its name for messages). */
  constructor(text: string, file = ".dockerignore") {
    this.patterns = [];
    for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
      let line = rawLine.trim();
      if (line === "" || line.startsWith("#")) continue;
      let exclusion = false;
      if (line.startsWith("!")) {
        exclusion = true;
        line = line.slice(1).trim();
        if (line === "")
          throw new BuildError("INVALID_ARGUMENT", `${file}:${i + 1}: illegal exclusion pattern: "!"`);
      }
      let cleaned = posix.normalize(line);
      // Docker strips the leading slash: patterns are relative to the context root.
      cleaned = cleaned.replace(/^\/+/, "").replace(/\/+$/, "");
      if (cleaned === "" || cleaned === ".") cleaned = ".";
      this.patterns.push({ exclusion, source: cleaned, re: compile(cleaned, file, i + 1) });
    }
  }

  /** True when there is no pattern at all. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when `rel` (a context-relative path with `/`) is excluded. */
  excludes(rel: string): boolean {
    const parts = rel.split("/");
    let excluded = false;
    for (const p of this.patterns) {
      // Only a pattern that can flip the state needs testing.
      if (p.exclusion !== excluded) continue;
      let match = p.re.test(rel);
      // A matching parent directory excludes (or re-includes) everything under it.
      for (let k = 1; !match && k < parts.length; k++) match = p.re.test(parts.slice(0, k).join("/"));
      if (match) excluded = !p.exclusion;
    }
    return excluded;
  }

  /**
   * True when some exception pattern could re-include a path under the excluded directory
   * `rel`, so a walk must still look inside it.
   */
  mayIncludeUnder(rel: string): boolean {
    return this.patterns.some(
      (p) =>
        p.exclusion &&
        (p.source.startsWith(`${rel}/`) ||
          p.source.includes("*") ||
          p.source.includes("?") ||
          p.source.includes("[")),
    );
  }
}

/** A wildcard pattern (one COPY source component) as a regular expression over a whole name. */
export function patternRegExp(pattern: string): RegExp {
  return compile(pattern, "pattern", 0);
}

/** A pattern as a regular expression over a whole path (Docker's `patternmatcher` translation). */
function compile(pattern: string, file: string, line: number): RegExp {
  let re = "^";
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern[k]!;
    if (c === "*") {
      if (pattern[k + 1] === "*") {
        k++;
        // `**/` matches zero or more directories; a final `**` anything.
        if (pattern[k + 1] === "/") k++;
        re += k + 1 >= pattern.length ? ".*" : "(?:.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = pattern.indexOf("]", k + 2);
      if (end < 0)
        throw new BuildError("INVALID_ARGUMENT", `${file}:${line}: syntax error in pattern "${pattern}"`);
      let cls = pattern.slice(k + 1, end);
      if (cls.startsWith("^") || cls.startsWith("!")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\(.)/g, "\\$1")}]`;
      k = end;
    } else if (c === "\\") {
      k++;
      if (k >= pattern.length)
        throw new BuildError("INVALID_ARGUMENT", `${file}:${line}: syntax error in pattern "${pattern}"`);
      re += escapeChar(pattern[k]!);
    } else {
      re += escapeChar(c);
    }
  }
  return new RegExp(`${re}$`, "s");
}

function escapeChar(c: string): string {
  return /[.+^${}()|[\]\\*?/]/.test(c) ? `\\${c}` : c;
}
