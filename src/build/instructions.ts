/**
 * What each Dockerfile instruction accepts: the known keywords, their flags (unknown ones are
 * refused, never ignored), and the shape of their arguments. The values themselves are expanded
 * later, when the build reaches the instruction and knows its variables.
 */
import type { RawInstruction } from "./dockerfile.js";
import { syntaxError } from "./error.js";

/** A checked instruction: its flags as name → values (a flag may repeat, e.g. `--mount`). */
export interface Instruction extends RawInstruction {
  options: Map<string, string[]>;
}

/** The flags each instruction takes; `true` when the flag may be given without a value. */
const FLAGS: Readonly<Record<string, Readonly<Record<string, { bare?: boolean; repeat?: boolean }>>>> = {
  FROM: { platform: {} },
  RUN: { mount: { repeat: true }, network: {}, security: {} },
  COPY: { from: {}, chown: {}, chmod: {}, link: { bare: true } },
  ADD: { chown: {}, chmod: {}, link: { bare: true }, checksum: {} },
  HEALTHCHECK: { interval: {}, timeout: {}, "start-period": {}, "start-interval": {}, retries: {} },
  ENV: {},
  ARG: {},
  LABEL: {},
  EXPOSE: {},
  USER: {},
  WORKDIR: {},
  VOLUME: {},
  ENTRYPOINT: {},
  CMD: {},
  STOPSIGNAL: {},
  ONBUILD: {},
  SHELL: {},
  MAINTAINER: {},
};

/** Keywords that take no empty argument. */
const NEEDS_ARGUMENT = new Set(Object.keys(FLAGS).filter((k) => k !== "HEALTHCHECK"));

/** True when `keyword` is a Dockerfile instruction. */
export function isKeyword(keyword: string): boolean {
  return Object.hasOwn(FLAGS, keyword);
}

/** Checks `raw` (keyword, flags, arguments); throws `DOCKERFILE_SYNTAX` naming `file:line`. */
export function checkInstruction(raw: RawInstruction, file: string): Instruction {
  const allowed = FLAGS[raw.keyword];
  if (allowed === undefined) throw syntaxError(file, raw.line, `unknown instruction: ${raw.keyword}`);
  const options = new Map<string, string[]>();
  for (const f of raw.flags) {
    const eq = f.indexOf("=");
    const name = eq < 0 ? f : f.slice(0, eq);
    const spec = allowed[name];
    if (spec === undefined) throw syntaxError(file, raw.line, `unknown flag: --${name} (${raw.keyword})`);
    if (eq < 0 && !spec.bare) throw syntaxError(file, raw.line, `flag --${name} needs a value`);
    const value = eq < 0 ? "true" : unquote(f.slice(eq + 1));
    const list = options.get(name) ?? [];
    if (list.length > 0 && !spec.repeat) throw syntaxError(file, raw.line, `flag --${name} given twice`);
    list.push(value);
    options.set(name, list);
  }
  if (NEEDS_ARGUMENT.has(raw.keyword) && raw.rest === "" && raw.heredocs.length === 0)
    throw syntaxError(file, raw.line, `${raw.keyword} requires at least one argument`);
  if (raw.keyword === "ONBUILD") {
    const inner = /^(\S+)/.exec(raw.rest)?.[1]?.toUpperCase() ?? "";
    if (inner === "ONBUILD" || inner === "FROM" || inner === "MAINTAINER")
      throw syntaxError(file, raw.line, `${inner} isn't allowed as an ONBUILD trigger`);
    if (!isKeyword(inner)) throw syntaxError(file, raw.line, `unknown instruction in ONBUILD: ${inner}`);
  }
  return { ...raw, options };
}

/** Removes one pair of surrounding quotes from a flag's value (`--chown="1:1"`). */
function unquote(v: string): string {
  return v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0] ? v.slice(1, -1) : v;
}

/**
 * The `key=value` pairs of a `--mount` flag (`type=cache,target=/x,ro`); a bare key is `true`.
 * Throws naming the flag on an empty key.
 */
export function parseMountFlag(value: string, file: string, line: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(",")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (k === "") throw syntaxError(file, line, `--mount=${value}: empty option`);
    out.set(k, eq < 0 ? "true" : part.slice(eq + 1));
  }
  return out;
}
