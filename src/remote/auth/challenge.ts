/**
 * Parsing of `WWW-Authenticate` headers (RFC 9110 §11.6.1) as registries send them. Pure.
 */

/** One authentication challenge: a scheme (lower-cased) and its parameters (keys lower-cased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses every challenge in a `WWW-Authenticate` value, e.g.
 * `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`.
 * Quoted strings may contain commas and escaped quotes. Unknown syntax is skipped, never thrown.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) out.push(...parseOne(value));
  return out;
}

function parseOne(value: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  let current: Challenge | undefined;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === " " || value[i] === "\t" || value[i] === ",")) i++;
  };
  while (i < n) {
    skipSpace();
    const tokStart = i;
    while (i < n && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(value[i]!)) i++;
    const token = value.slice(tokStart, i);
    if (token === "") {
      i++;
      continue;
    }
    let j = i;
    while (j < n && (value[j] === " " || value[j] === "\t")) j++;
    if (value[j] === "=" && current !== undefined && value[j + 1] !== "=") {
      // auth-param: token "=" ( token / quoted-string )
      i = j + 1;
      while (i < n && (value[i] === " " || value[i] === "\t")) i++;
      let v = "";
      if (value[i] === '"') {
        i++;
        while (i < n && value[i] !== '"') {
          if (value[i] === "\\" && i + 1 < n) i++;
          v += value[i];
          i++;
        }
        i++;
      } else {
        const vs = i;
        while (i < n && value[i] !== "," && value[i] !== " ") i++;
        v = value.slice(vs, i);
      }
      current.params[token.toLowerCase()] = v;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      // token68 (e.g. `Basic abc==`) is ignored: registries do not send it.
    }
  }
  return out;
}
