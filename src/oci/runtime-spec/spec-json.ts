/**
 * A runtime spec as `config.json` text. Seccomp rule values are 64-bit (`bigint` in pier's spec
 * types), which `JSON.stringify` refuses and a JS number would round above 2^53: they are
 * written as exact JSON integers.
 */
import { randomBytes } from "node:crypto";
import type { Spec } from "./config.js";

/** `spec` as JSON text, bigints as exact integers. */
export function runtimeSpecJson(spec: Spec): string {
  // A marker no string of the spec can hold by chance: a random nonce around the digits.
  const nonce = randomBytes(8).toString("hex");
  const text = JSON.stringify(spec, (_k, v: unknown) =>
    typeof v === "bigint" ? `${nonce}:${v.toString()}:${nonce}` : v,
  );
  return text.replace(new RegExp(`"${nonce}:(-?\\d+):${nonce}"`, "g"), "$1");
}
