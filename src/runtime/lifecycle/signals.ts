/**
 * Signal names and numbers as `kill` accepts them (runc: `KILL`, `SIGKILL`, `9`, and the
 * real-time signals as `RTMIN+3` or `SIGRTMAX-1`, the names Docker's signal table has).
 */
import { constants } from "node:os";
import { RuntimeError } from "../error.js";

/**
 * The first and last real-time signals as glibc (and so Docker, runc and systemd) number them:
 * the kernel's 32 and 33 are glibc's own.
 */
export const SIGRTMIN = 34;
/** See {@link SIGRTMIN}. */
export const SIGRTMAX = 64;

/** Parses a signal argument; throws `INVALID_ARGUMENT` for an unknown one. */
export function parseSignal(arg: string): number {
  if (/^\d+$/.test(arg)) {
    const n = Number(arg);
    if (n > 0 && n < 65) return n;
  } else {
    const name = arg.toUpperCase().startsWith("SIG") ? arg.toUpperCase() : `SIG${arg.toUpperCase()}`;
    const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
    if (rt) {
      const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "-" ? -1 : 1);
      const n = (rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX) + offset;
      if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new RuntimeError("INVALID_ARGUMENT", `unknown signal "${arg}"`);
}
