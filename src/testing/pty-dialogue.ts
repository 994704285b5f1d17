/**
 * Runs a command on a terminal (a pty made by a small python3 driver) and holds a dialogue with
 * it: each line is typed only once the text it waits for has appeared, so a program that
 * flushes its terminal's input when it starts (login does) loses nothing, and no test depends
 * on a fixed delay. Not part of the library API.
 */
import { type CommandResult, runCommand } from "./engine.js";
import { requireTool } from "./tools.js";

// argv[1]: JSON [[expect, send], ...], argv[2]: seconds before the command is killed, argv[3:]:
// the command. Everything written to the pty is copied to stdout; the exit code is the command's.
const DRIVER = `
import json, os, pty, select, sys, time
steps, limit, argv = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
start = time.time()
out = b""
seen = 0
while True:
    if steps and steps[0][0].encode() in out[seen:]:
        seen = out.index(steps[0][0].encode(), seen) + len(steps[0][0])
        os.write(fd, steps.pop(0)[1].encode())
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if time.time() - start > limit:
        os.kill(pid, 9)
        break
sys.stdout.buffer.write(out)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`;

/**
 * Runs `argv` on a terminal; each `[expect, send]` types `send` once `expect` has appeared
 * (after the previous one's). Killed after `seconds`.
 */
export function ptyDialogue(
  argv: readonly string[],
  steps: readonly (readonly [string, string])[],
  opts: { env?: NodeJS.ProcessEnv; seconds?: number } = {},
): Promise<CommandResult> {
  const python = requireTool("/usr/bin/python3", "python3");
  const seconds = opts.seconds ?? 60;
  return runCommand(python, ["-c", DRIVER, JSON.stringify(steps), String(seconds), ...argv], {
    env: opts.env ?? process.env,
    timeout: (seconds + 30) * 1000,
  });
}
