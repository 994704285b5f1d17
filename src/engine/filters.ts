/**
 * Docker's filters, one grammar for every list and prune of both APIs: the `filters` query
 * (`{"label":{"a=b":true}}` or the older `{"label":["a=b"]}`), the keys each endpoint accepts
 * (anything else is refused with the key's name before the endpoint does anything), and the
 * matching rules moby's `filters.Args` applies: `label`/`label!` against labels, `until`/`before`/
 * `since` timestamps, boolean values. The object-specific predicates (a container's status, an
 * image's reference) live with the objects and are built from these.
 */
import { EngineError } from "./error.js";

/** Filter values by key, as Docker's `filters.Args`: values of one key are alternatives unless said otherwise. */
export type Filters = Readonly<Record<string, readonly string[]>>;

/**
 * The keys each endpoint accepts, as Docker documents them (API 1.41, plus the later `until`
 * of `images` and `dangling` of `network ls`). `volumePrune`'s `all` is API 1.42's.
 */
export const FILTER_KEYS = {
  containerList: [
    "ancestor",
    "before",
    "exited",
    "expose",
    "health",
    "id",
    "is-task",
    "isolation",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
  ],
  containerPrune: ["label", "label!", "until"],
  imageList: ["before", "dangling", "label", "label!", "reference", "since", "until"],
  imagePrune: ["dangling", "label", "label!", "until"],
  networkList: ["dangling", "driver", "id", "label", "name", "scope", "type"],
  networkPrune: ["label", "label!", "until"],
  volumeList: ["dangling", "driver", "label", "name"],
  volumePrune: ["all", "label", "label!"],
  // BuildKit's cache fields, and the labels `docker system prune --filter label=` passes on to it.
  builderPrune: [
    "description",
    "id",
    "inuse",
    "label",
    "label!",
    "parent",
    "private",
    "shared",
    "type",
    "unused-for",
    "until",
  ],
  events: [
    "action",
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
  ],
} as const satisfies Record<string, readonly string[]>;

/** An endpoint whose filters {@link FILTER_KEYS} lists. */
export type FilterEndpoint = keyof typeof FILTER_KEYS;

function invalid(message: string): EngineError {
  return new EngineError("INVALID_ARGUMENT", message);
}

/** The `filters` query parameter (JSON); `{}` when absent; `INVALID_ARGUMENT` when not JSON. Pure. */
export function parseFilters(text: string | null | undefined): Record<string, string[]> {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(`invalid filters: ${text}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw invalid(`invalid filters: ${text}`);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (typeof v === "object" && v !== null) out[k] = Object.keys(v);
    else throw invalid(`invalid filters: ${text}`);
  }
  return out;
}

/** `--filter k=v` flags as {@link Filters} (the CLI's grammar); an entry without `=` is refused. Pure. */
export function filtersFromFlags(flags: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of flags) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw invalid(`bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, eq);
    out[key] = [...(out[key] ?? []), f.slice(eq + 1)];
  }
  return out;
}

/**
 * Refuses (`INVALID_ARGUMENT`, Docker's "invalid filter 'k'") the first key `endpoint` does not
 * accept. Every endpoint calls it before it lists or removes anything. Pure.
 */
export function checkFilters(filters: Filters, endpoint: FilterEndpoint): void {
  const accepted: readonly string[] = FILTER_KEYS[endpoint];
  for (const key of Object.keys(filters))
    if (!accepted.includes(key)) throw invalid(`invalid filter '${key}'`);
}

/**
 * moby's `MatchKVList`: every value of `key` (`k` or `k=v`) is among `labels`; true when the
 * key is not filtered. Pure.
 */
export function matchKVList(
  filters: Filters,
  key: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  const values = filters[key] ?? [];
  if (!values.length) return true;
  return values.every((l) => {
    const eq = l.indexOf("=");
    const k = eq < 0 ? l : l.slice(0, eq);
    return Object.hasOwn(labels, k) && (eq < 0 || labels[k] === l.slice(eq + 1));
  });
}

/**
 * Whether `labels` pass `label` (every one present) and `label!` (excluded when every `label!`
 * value matches), as moby's prunes decide. Pure.
 */
export function labelsPass(filters: Filters, labels: Readonly<Record<string, string>>): boolean {
  if (!matchKVList(filters, "label", labels)) return false;
  return !(filters["label!"]?.length && matchKVList(filters, "label!", labels));
}

/**
 * The boolean value of `key` (`true`/`1`, `false`/`0`), `undefined` when not filtered;
 * `INVALID_ARGUMENT` naming the filter for another value, or for two that disagree. Pure.
 */
export function boolFilter(filters: Filters, key: string): boolean | undefined {
  const values = filters[key] ?? [];
  if (!values.length) return undefined;
  const parsed = values.map((v) => {
    const t = v.toLowerCase();
    if (t === "true" || t === "1") return true;
    if (t === "false" || t === "0") return false;
    throw invalid(`invalid filter '${key}=${v}'`);
  });
  if (parsed.some((p) => p !== parsed[0])) throw invalid(`invalid filter '${key}': conflicting values`);
  return parsed[0];
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60000,
  h: 3600000,
};

/** A Go duration (`10m`, `1h30m`, `-1.5h`, `250ms`) in ms; `undefined` when it is not one. Pure. */
export function goDurationMs(text: string): number | undefined {
  const m = /^([-+]?)(.*)$/.exec(text)!;
  const body = m[2]!;
  if (body === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let p = re.exec(body); p; p = re.exec(body)) {
    total += Number(p[1]) * DURATION_UNITS[p[2]!]!;
    end = re.lastIndex;
  }
  if (!body || end !== body.length) return undefined;
  return m[1] === "-" ? -total : total;
}

/** A Go duration in ms; `INVALID_ARGUMENT` naming the text otherwise. Pure. */
export function durationMs(text: string): number {
  const ms = goDurationMs(text);
  if (ms === undefined) throw invalid(`invalid duration ${JSON.stringify(text)}`);
  return ms;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Docker's timestamp (`timetypes.GetTimestamp`) in unix ms: a Go duration before `nowMs`, an
 * RFC 3339 date or date-time (local time when it has no zone), or unix seconds with a fraction.
 * `INVALID_ARGUMENT` naming the text otherwise. Pure.
 */
export function timestampMs(text: string, nowMs = Date.now()): number {
  const d = goDurationMs(text);
  if (d !== undefined) return nowMs - d;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (DATE_TIME.test(text)) {
    // A date alone is midnight local time, as Go parses it in time.Local (JS would take UTC).
    const t = Date.parse(text.length === 10 ? `${text}T00:00:00` : text);
    if (!Number.isNaN(t)) return t;
  }
  throw invalid(`failed to parse value as time or duration: ${JSON.stringify(text)}`);
}

/**
 * The `until` limit of a prune in unix ms (objects created after it survive), `undefined` when
 * not filtered; more than one value is refused, as Docker does. Pure.
 */
export function untilMs(filters: Filters, nowMs = Date.now()): number | undefined {
  const values = filters.until ?? [];
  if (!values.length) return undefined;
  if (values.length > 1) throw invalid("more than one until filter specified");
  return timestampMs(values[0]!, nowMs);
}

/** Whether an object created at `created` (RFC 3339) is not after the `until` limit `limit`. Pure. */
export function createdBy(created: string | undefined, limit: number | undefined): boolean {
  if (limit === undefined) return true;
  const t = created ? Date.parse(created) : Number.NaN;
  return !Number.isNaN(t) && t <= limit;
}

type GlobToken = { star: true } | { star: false; matches: (c: string) => boolean };

/** The tokens of a `path.Match` pattern; `undefined` when it is malformed (an open `[`). Pure. */
function globTokens(pattern: string): GlobToken[] | undefined {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") tokens.push({ star: true });
    else if (c === "?") tokens.push({ star: false, matches: (x) => x !== "/" });
    else if (c === "[") {
      let j = i + 1;
      const negated = pattern[j] === "^";
      if (negated) j++;
      const ranges: [string, string][] = [];
      const char = () => (pattern[j] === "\\" ? pattern[++j] : pattern[j]);
      while (j < pattern.length && (pattern[j] !== "]" || ranges.length === 0)) {
        const lo = char();
        j++;
        let hi = lo;
        if (pattern[j] === "-" && pattern[j + 1] !== "]") {
          j++;
          hi = char();
          j++;
        }
        if (lo === undefined || hi === undefined) return undefined;
        ranges.push([lo, hi]);
      }
      if (pattern[j] !== "]") return undefined;
      i = j;
      tokens.push({
        star: false,
        matches: (x) => x !== "/" && ranges.some(([lo, hi]) => x >= lo && x <= hi) !== negated,
      });
    } else {
      const lit = c === "\\" && i + 1 < pattern.length ? pattern[++i]! : c;
      tokens.push({ star: false, matches: (x) => x === lit });
    }
  }
  return tokens;
}

/**
 * Whether `text` matches the shell pattern `pattern` (`*`, `?`, `[a-z]`, `[^…]`, `\\`; neither
 * crosses `/`), as Go's `path.Match`; a malformed pattern matches nothing. Dynamic programming,
 * O(pattern × text), whatever the pattern: it comes from a client. Pure.
 */
export function pathMatch(pattern: string, text: string): boolean {
  const tokens = globTokens(pattern);
  if (!tokens) return false;
  // reach[j]: the first i tokens match text[0, j).
  let reach = new Array<boolean>(text.length + 1).fill(false);
  reach[0] = true;
  for (const t of tokens) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    for (let j = 0; j <= text.length; j++) {
      if (t.star) next[j] = reach[j]! || (j > 0 && next[j - 1]! && text[j - 1] !== "/");
      else next[j] = j > 0 && reach[j - 1]! && t.matches(text[j - 1]!);
    }
    reach = next;
  }
  return reach[text.length]!;
}
