/**
 * Transport names as skopeo spells them: `docker://REF`, `oci:DIR[:NAME]`,
 * `oci-archive:FILE[:NAME]`, `docker-archive:FILE[:REF]`, and a bare reference for pier's own
 * store. Pure parsing; opening is in `open.ts`.
 */
import { parseReference, type Reference } from "../../oci/reference.js";
import { RemoteError } from "../error.js";

/** A parsed transport string. */
export type TransportSpec =
  | { kind: "docker"; ref: Reference }
  | { kind: "oci"; dir: string; name?: string }
  | { kind: "oci-archive"; file: string; name?: string }
  | { kind: "docker-archive"; file: string; name?: string }
  | { kind: "store"; ref: Reference };

function splitPathAndName(rest: string): { path: string; name?: string } {
  // skopeo: the last colon separates a name, unless what follows it contains a slash
  const colon = rest.lastIndexOf(":");
  if (colon > 0 && !rest.slice(colon + 1).includes("/")) {
    return { path: rest.slice(0, colon), name: rest.slice(colon + 1) };
  }
  return { path: rest };
}

function splitAtFirstColon(rest: string): { path: string; name?: string } {
  const colon = rest.indexOf(":");
  return colon > 0 ? { path: rest.slice(0, colon), name: rest.slice(colon + 1) } : { path: rest };
}

/** Parses a transport string; throws `INVALID_TRANSPORT` naming the problem. */
export function parseTransport(input: string): TransportSpec {
  if (input.startsWith("docker://"))
    return { kind: "docker", ref: parseReference(input.slice("docker://".length)) };
  for (const kind of ["oci", "oci-archive", "docker-archive"] as const) {
    if (input.startsWith(`${kind}:`)) {
      const rest = input.slice(kind.length + 1);
      // A docker reference has its own colon (`busybox:1`): the first colon ends the path there.
      const { path, name } = kind === "docker-archive" ? splitAtFirstColon(rest) : splitPathAndName(rest);
      if (path === "") throw new RemoteError("INVALID_TRANSPORT", `${input}: missing path after "${kind}:"`);
      if (kind === "oci") return name !== undefined ? { kind, dir: path, name } : { kind, dir: path };
      return name !== undefined ? { kind, file: path, name } : { kind, file: path };
    }
  }
  const m = /^([a-z-]+):(?!\/\/)/.exec(input);
  if (m && !input.includes("/") && !/^[a-z0-9.-]+:\d/.test(input) && !/:[\w][\w.-]*$/.test(input)) {
    throw new RemoteError("INVALID_TRANSPORT", `${input}: unknown transport "${m[1]}"`);
  }
  if (/^[a-z-]+:\/\//.test(input)) {
    throw new RemoteError("INVALID_TRANSPORT", `${input}: unknown transport "${input.split(":")[0]}"`);
  }
  return { kind: "store", ref: parseReference(input) };
}
