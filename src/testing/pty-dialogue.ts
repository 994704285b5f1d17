/**
 * Runs a command on a terminal (a pty made by a small python3 driver, of a given size if asked)
 * and holds a dialogue with it: each line is typed only once the text it waits for has
 * appeared, so a program that flushes its terminal's input when it starts (login does) loses
 * nothing, and no test depends on a fixed delay where there is output to wait for. Not part of
 * the library API.
 */
import { type CommandResult, runCommand } from "./engine.js";
import { requireTool } from "./tools.js";

// argv[1]: JSON [[expect or ms, send], ...], argv[2]: seconds before the command is killed,
// argv[3], argv[4]: the terminal's rows and columns (0: the pty's default), argv[5:]: the
// command. Everything written to the pty is copied to stdout; the exit code is the command's.
const DRIVER = `
import fcntl, json, os, pty, select, struct, sys, termios, time
steps, limit, rows, cols, argv = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
pid, fd = pty.fork()
if pid == 0:
    if rows and cols:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)
start = time.time()
out = b""
seen = 0
while True:
    if steps:
        want = steps[0][0]
        if isinstance(want, str) and want.encode() in out[seen:]:
            seen = out.index(want.encode(), seen) + len(want)
            os.write(fd, steps.pop(0)[1].encode())
        elif not isinstance(want, str) and (time.time() - start) * 1000 >= want:
            os.write(fd, steps.pop(0)[1].encode())
    r, _, _ = select.select([fd], [], [], 0.02)
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
 * One step of a dialogue: `[expect, send]` types `send` once `expect` has appeared (after the
 * previous expected text); `[ms, send]`, once `ms` milliseconds have passed since the start,
 * for a program that shows nothing to wait for (an attach to a shell that has already printed
 * its prompt).
 */
export type PtyStep = readonly [string | number, string];

/**
 * Runs `argv` on a terminal of `rows` x `cols` (default: the pty's), typing each step's text in
 * turn (see {@link PtyStep}). Killed after `seconds` (default 60).
 */
export function ptyDialogue(
  argv: readonly string[],
  steps: readonly PtyStep[],
  opts: { env?: NodeJS.ProcessEnv; seconds?: number; rows?: number; cols?: number } = {},
): Promise<CommandResult> {
  const python = requireTool("/usr/bin/python3", "python3");
  const seconds = opts.seconds ?? 60;
  const size = [String(opts.rows ?? 0), String(opts.cols ?? 0)];
  return runCommand(python, ["-c", DRIVER, JSON.stringify(steps), String(seconds), ...size, ...argv], {
    env: opts.env ?? process.env,
    timeout: (seconds + 30) * 1000,
  });
}
