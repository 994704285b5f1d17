/**
 * The CNI plugin protocol's documents (CNI spec 1.0): the success result an ADD prints and the
 * error object any command prints on failure. Parsing validates every field pier relies on, so a
 * broken plugin is an error naming the field, never an address of `undefined`. Pure.
 */
import { NetworkError } from "./error.js";

/** One interface a plugin created or configured (`sandbox` set when it is in the container). */
export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

/** One address assigned to an interface (index into `interfaces`). */
export interface CniIP {
  address: string;
  gateway?: string;
  interface?: number;
}

/** A CNI ADD result. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIP[];
  routes: { dst: string; gw?: string }[];
  dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** A CNI error object (`code` 1-99 are the spec's, 100+ the plugin's own). */
export interface CniErrorObject {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

function invalid(why: string): NetworkError {
  return new NetworkError("CNI_INVALID_RESULT", `invalid CNI result: ${why}`);
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") throw invalid(`${what} must be a non-empty string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  return str(v, what);
}

/** Parses and validates a plugin's ADD output. Throws `CNI_INVALID_RESULT` naming the field. */
export function parseCniResult(text: string): CniResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalid("not a JSON object");
  const r = raw as Record<string, unknown>;
  const cniVersion = str(r.cniVersion, "cniVersion");
  const list = (v: unknown, what: string): unknown[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw invalid(`${what} must be an array`);
    return v;
  };
  const interfaces = list(r.interfaces, "interfaces").map((x, i): CniInterface => {
    const o = (x ?? {}) as Record<string, unknown>;
    const out: CniInterface = { name: str(o.name, `interfaces[${i}].name`) };
    const mac = optStr(o.mac, `interfaces[${i}].mac`);
    if (mac) out.mac = mac;
    const sandbox = optStr(o.sandbox, `interfaces[${i}].sandbox`);
    if (sandbox) out.sandbox = sandbox;
    return out;
  });
  const ips = list(r.ips, "ips").map((x, i): CniIP => {
    const o = (x ?? {}) as Record<string, unknown>;
    const address = str(o.address, `ips[${i}].address`);
    if (!/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(address))
      throw invalid(`ips[${i}].address ${address} is not a CIDR`);
    const out: CniIP = { address };
    const gw = optStr(o.gateway, `ips[${i}].gateway`);
    if (gw) out.gateway = gw;
    if (o.interface !== undefined) {
      if (typeof o.interface !== "number" || !Number.isInteger(o.interface) || o.interface < 0)
        throw invalid(`ips[${i}].interface must be an index`);
      if (o.interface >= interfaces.length)
        throw invalid(`ips[${i}].interface ${o.interface} names no interface`);
      out.interface = o.interface;
    }
    return out;
  });
  const routes = list(r.routes, "routes").map((x, i) => {
    const o = (x ?? {}) as Record<string, unknown>;
    const gw = optStr(o.gw, `routes[${i}].gw`);
    return { dst: str(o.dst, `routes[${i}].dst`), ...(gw ? { gw } : {}) };
  });
  const dns = (typeof r.dns === "object" && r.dns !== null ? r.dns : {}) as CniResult["dns"];
  return { cniVersion, interfaces, ips, routes, dns };
}

/** Parses a plugin's error output; `undefined` when it is not a CNI error object. */
export function parseCniError(text: string): CniErrorObject | undefined {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.code !== "number" || typeof o.msg !== "string") return undefined;
    return {
      code: o.code,
      msg: o.msg,
      ...(typeof o.details === "string" && o.details ? { details: o.details } : {}),
      ...(typeof o.cniVersion === "string" ? { cniVersion: o.cniVersion } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The container's IPv4 address on `ifname` (CIDR form) and its gateway, if the result has one. */
export function containerAddress(
  r: CniResult,
  ifname: string,
): { address: string; gateway?: string; mac?: string } | undefined {
  for (const ip of r.ips) {
    if (!ip.address.includes(".")) continue;
    const itf = ip.interface === undefined ? undefined : r.interfaces[ip.interface];
    if (itf && (itf.name !== ifname || !itf.sandbox)) continue;
    return {
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
      ...(itf?.mac ? { mac: itf.mac } : {}),
    };
  }
  return undefined;
}
