/**
 * Signal names and numbers as `kill` accepts them (runc: `KILL`, `SIGKILL`, `9`).
 */
import { constants } from "node:os";
import { RuntimeError } from "../error.js";

/** Parses a signal argument; throws `INVALID_ARGUMENT` for an unknown one. */
export function parseSignal(arg: string): number {
  if (/^\d+$/.test(arg)) {
    const n = Number(arg);
    if (n > 0 && n < 65) return n;
  } else {
    const name = arg.toUpperCase().startsWith("SIG") ? arg.toUpperCase() : `SIG${arg.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new RuntimeError("INVALID_ARGUMENT", `unknown signal "${arg}"`);
}
