/**
 * Whether the checkpoint tests can run here: root and a CRIU 4 (as scripts/install-criu.sh
 * installs it), the one check every checkpoint test file makes before it starts; for the tests
 * whose containers hold inet sockets, a CRIU that can dump those on this kernel; the PATH that
 * finds that CRIU first; how they run a runtime command that leaves a container behind, check
 * that a command succeeded and read a counting container's count.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { checkCriuVersion, findCriu } from "../runtime/checkpoint/criu-path.js";
import { pierRuntimeCommand } from "./runtime.js";

/** Why checkpoint tests cannot run here, or undefined when CRIU 4 is usable. */
export async function criuSkipReason(): Promise<string | undefined> {
  return (await criuVersion()).skip;
}

/**
 * Why a checkpoint of a container with an inet socket (listening or connected TCP) cannot run
 * here, or undefined when it can: since Linux 6.16 the kernel refuses SO_PASSCRED/SO_PASSSEC on
 * inet sockets and CRIU before 4.2 reads both, failing the dump (checkpoint-restore/criu#2718).
 */
export async function criuInetSkipReason(): Promise<string | undefined> {
  const { skip, version, criu } = await criuVersion();
  if (skip || !version) return skip;
  const [kmajor = 0, kminor = 0] = release().split(/[.-]/).map(Number);
  const oldCriu = version.major < 4 || (version.major === 4 && version.minor < 2);
  if (oldCriu && (kmajor > 6 || (kmajor === 6 && kminor >= 16)))
    return (
      `${criu} is CRIU ${version.major}.${version.minor}.${version.sublevel}, which cannot dump an inet socket on ` +
      `Linux ${release()} (>= 6.16 refuses SO_PASSCRED/SO_PASSSEC on them: checkpoint-restore/criu#2718, fixed in ` +
      "CRIU 4.2): run scripts/install-criu.sh, or set PIER_CRIU to a CRIU 4.2 or later"
    );
  return undefined;
}

/**
 * The skip reason of checkpoint test file `file` (from `reason`: by default
 * {@link criuSkipReason}), said once on stderr as `FILE: SKIPPED: WHY` so that a run's output
 * shows why its checkpoint tests did not run; undefined when they run. Every checkpoint test
 * file's first statement.
 */
export async function checkpointTestSkip(
  file: string,
  reason: () => Promise<string | undefined> = criuSkipReason,
): Promise<string | undefined> {
  const skip = await reason();
  if (skip) process.stderr.write(`${file}: SKIPPED: ${skip}\n`);
  return skip;
}

/** This process's PATH with the directory of the CRIU pier-runtime finds first: runc and podman look only in PATH. */
export function criuFirstInPath(): string {
  return `${dirname(findCriu(undefined, process.env))}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
}

async function criuVersion(): Promise<{
  skip?: string;
  criu?: string;
  version?: { major: number; minor: number; sublevel: number };
}> {
  if (process.getuid?.() !== 0) return { skip: "needs root" };
  try {
    const criu = findCriu(undefined, process.env);
    return { criu, version: await checkCriuVersion(criu) };
  } catch (err) {
    return { skip: `CRIU 4 is not installed (${(err as Error).message}); run scripts/install-criu.sh` };
  }
}

/**
 * Runs `pier-runtime ARGS` that leaves a container behind (run -d, restore -d) with pipes for
 * stdio, as conmon gives them: CRIU dumps a pipe as external and restore hands it the caller's
 * (a host /dev/null or Node's socketpair stdio would be an unknown external file or socket).
 * Bash's process substitutions make the pipes; the output, the command's errors included, goes
 * to the file `out`, read back as `stderr`.
 */
export function runWithPipes(
  args: readonly string[],
  out: string,
): { status: number | null; stderr: string } {
  const [cmd, full] = pierRuntimeCommand(args);
  const r = spawnSync("bash", ["-c", 'exec "$@" < <(:) > >(exec cat >"$OUT") 2>&1', "bash", cmd, ...full], {
    stdio: "ignore",
    env: { ...process.env, OUT: out },
    timeout: 60000,
  });
  return { status: r.status, stderr: existsSync(out) ? readFileSync(out, "utf8") : "" };
}

/** Asserts that a command (`what`, named in the failure with its stderr) exited 0. */
export function assertSucceeded(r: { status: number | null; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
}

/**
 * The count a counting container keeps in `/count` of `rootfs` (written aside and renamed into
 * place, so never read half-written), waiting (10 s at most, a slow machine) for the first one.
 */
export async function rootfsCount(rootfs: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const path = join(rootfs, "count");
    const t = existsSync(path) ? readFileSync(path, "utf8").trim() : "";
    if (t) return Number(t);
    if (Date.now() > deadline) throw new Error(`no count in ${path}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
