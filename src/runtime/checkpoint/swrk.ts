/**
 * A conversation with CRIU in RPC mode (`criu swrk`), through `native/criu-swrk` (which owns the
 * SOCK_SEQPACKET socketpair Node cannot make; see criu-swrk.c): send one criu_req, answer the
 * notify callbacks, get the final criu_resp. The bridge process is the parent of criu and, with
 * `rst_sibling`, of a restored container.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { findNativeDir } from "../helper.js";
import { CriuError } from "./criu-error.js";
import { type CriuReq, type CriuResp, decodeResp, encodeReq, ReqType } from "./rpc.js";

const WAIT_PID_FRAME = 0xffffffff;
const MAX_FRAME = 1 << 20;

/** Options of {@link CriuSession.start}. */
export interface SessionOptions {
  /** The criu executable (see `criu-path.ts`). */
  criu: string;
  /** Fds given to criu as fds 4, 5, ... (images dir, work dir, --inherit-fd files). */
  extraFds?: number[];
  /** criu's environment (the caller's: PATH finds iptables-restore, nft, ip). */
  env?: Readonly<Record<string, string | undefined>>;
  /** criu's stdio (a restored task's external pipes are inherited from these). */
  stdio?: "inherit" | "ignore";
  /**
   * `--console-socket`: the bridge connects to it before criu starts and sends it the pty master
   * criu makes for a restored terminal (the "orphan-pts-master" notification; see criu-swrk.c).
   */
  consoleSocket?: string;
  /**
   * A foreground restore of a terminal without a console socket: the bridge keeps that master
   * and, in {@link CriuSession.waitRestored}, proxies it to its stdio (the caller's), as runc.
   */
  proxyConsole?: boolean;
}

/** A started `criu swrk`. */
export class CriuSession {
  private buffered = Buffer.alloc(0);
  private waiters: ((frame: Buffer | Error) => void)[] = [];
  private frames: (Buffer | Error)[] = [];
  private exited: Promise<number>;
  private pid = 0;

  private constructor(
    private readonly child: ChildProcess,
    private readonly sock: Duplex,
  ) {
    this.exited = new Promise((resolve) =>
      child.on("exit", (code, sig) => resolve(code ?? 128 + (sig ? (osConstants.signals[sig] ?? 0) : 0))),
    );
  }

  /** criu's pid (to put it into the container's cgroup before a restore). */
  get criuPid(): number {
    return this.pid;
  }

  /** Starts the bridge and criu; resolves once criu's pid is known. */
  static async start(opts: SessionOptions): Promise<CriuSession> {
    const bridge = join(findNativeDir(), "build", "criu-swrk");
    if (!existsSync(bridge)) throw new CriuError("CRIU_MISSING", `${bridge} is missing: run npm run build`);
    const io = opts.stdio ?? "ignore";
    const console = opts.consoleSocket ? ["-c", opts.consoleSocket] : opts.proxyConsole ? ["-P"] : [];
    const args = [...console, opts.criu];
    const child = spawn(bridge, args, {
      ...(opts.env ? { env: { ...opts.env } } : {}),
      stdio: [io, io, io === "ignore" ? "pipe" : "inherit", "pipe", ...(opts.extraFds ?? [])],
    });
    let bridgeErr = "";
    child.stderr?.on("data", (d: Buffer) => {
      if (bridgeErr.length < 4096) bridgeErr += d.toString();
    });
    const sock = child.stdio[3] as Duplex;
    const pending = new CriuSession(child, sock);
    sock.on("data", (d: Buffer) => pending.onData(d));
    const fail = (why: string) =>
      pending.push(new CriuError("CRIU_FAILED", `criu ${why}${bridgeErr ? `: ${bridgeErr.trim()}` : ""}`));
    sock.on("end", () => fail("closed the connection"));
    sock.on("error", (e) => fail(`connection: ${e.message}`));
    child.on("error", (e) => fail(`could not start: ${e.message}`));
    const first = await pending.next();
    if (first.length !== 4) throw new CriuError("CRIU_FAILED", "the criu bridge did not report criu's pid");
    pending.pid = first.readUInt32LE(0);
    return pending;
  }

  private push(f: Buffer | Error): void {
    const w = this.waiters.shift();
    if (w) w(f);
    else this.frames.push(f);
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    while (this.buffered.length >= 4) {
      const n = this.buffered.readUInt32LE(0);
      if (n > MAX_FRAME) {
        this.push(new CriuError("CRIU_FAILED", "criu's message is too large"));
        this.sock.destroy();
        return;
      }
      if (this.buffered.length < 4 + n) return;
      this.push(Buffer.from(this.buffered.subarray(4, 4 + n)));
      this.buffered = this.buffered.subarray(4 + n);
    }
  }

  private async next(): Promise<Buffer> {
    const f = this.frames.shift() ?? (await new Promise<Buffer | Error>((r) => this.waiters.push(r)));
    if (f instanceof Error) {
      this.frames.unshift(f); // every later read fails the same way
      throw f;
    }
    return f;
  }

  private send(req: CriuReq): void {
    const body = encodeReq(req);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length, 0);
    this.sock.write(Buffer.concat([len, body]));
  }

  /**
   * Sends `req` and answers criu's notifications with `onNotify` (then "success"); resolves
   * with the final response, or throws {@link CriuError} when criu reports failure.
   */
  async call(req: CriuReq, onNotify?: (script: string, pid: number) => Promise<void>): Promise<CriuResp> {
    this.send(req);
    for (;;) {
      const resp = decodeResp(await this.next());
      if (!resp.success) {
        const why = resp.crErrmsg ? `: ${resp.crErrmsg}` : resp.crErrno ? `: errno ${resp.crErrno}` : "";
        throw new CriuError("CRIU_FAILED", `criu failed (request type ${resp.type})${why}`, {
          errno: resp.crErrno,
        });
      }
      if (resp.type === ReqType.NOTIFY) {
        await onNotify?.(resp.notify?.script ?? "", resp.notify?.pid ?? 0);
        this.send({ type: ReqType.NOTIFY, notifySuccess: true });
        continue;
      }
      return resp;
    }
  }

  /** Ends the conversation; resolves with the bridge's exit status once criu has exited. */
  async close(): Promise<number> {
    this.sock.end();
    return this.exited;
  }

  /**
   * Hands the restored task (the bridge's child) to the bridge to wait on; resolves with its
   * exit status (128+signal), as runc's `restore` without --detach exits.
   */
  async waitRestored(pid: number): Promise<number> {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(WAIT_PID_FRAME, 0);
    b.writeUInt32LE(pid, 4);
    this.sock.end(b);
    return this.exited;
  }

  /** Kills the bridge and criu (after a failure). */
  kill(): void {
    try {
      if (this.pid > 0) process.kill(this.pid, "SIGKILL");
    } catch {}
    this.child.kill("SIGKILL");
  }
}
