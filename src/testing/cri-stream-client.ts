/**
 * The Go test client of the CRI streaming server (`cri-stream-client/main.go`: moby/spdystream
 * and gorilla/websocket, the libraries client-go uses), built once per source version with
 * Debian's Go and its packaged libraries (`golang-go`, `golang-github-docker-spdystream-dev`,
 * `golang-github-gorilla-websocket-dev`, which scripts/install.sh installs), offline.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Debian's Go library path. */
const GOPATH = "/usr/share/gocode";

function source(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, "src", "testing", "cri-stream-client", "main.go")); i++)
    dir = dirname(dir);
  return join(dir, "src", "testing", "cri-stream-client", "main.go");
}

/** Why the client cannot be built here (for a test's `skip`), or undefined. */
export function streamClientSkipReason(): string | undefined {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
  } catch {
    return "no Go toolchain (golang-go)";
  }
  for (const lib of ["github.com/moby/spdystream", "github.com/gorilla/websocket"])
    if (!existsSync(join(GOPATH, "src", lib)))
      return `${lib} is missing from ${GOPATH} (Debian's -dev package)`;
  return undefined;
}

/** Path of the built client (built on first use). */
export function streamClient(): string {
  const src = source();
  const sum = createHash("sha256").update(readFileSync(src)).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), "pier-cri-stream-client");
  const bin = join(dir, `cri-stream-client-${sum}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  execFileSync("go", ["build", "-o", bin, src], {
    env: { ...process.env, GOPATH, GO111MODULE: "off", GOCACHE: join(dir, "cache"), GOFLAGS: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return bin;
}

/** One run of the client: its exit status and output. */
export interface StreamClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the client with `args`, `input` as its stdin. */
export function runStreamClient(args: string[], input = "", timeoutMs = 60_000): Promise<StreamClientRun> {
  return new Promise((resolve) => {
    const child = execFile(
      streamClient(),
      args,
      { timeout: timeoutMs, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}
