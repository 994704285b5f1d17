/**
 * A CRI client for tests: grpc-js's own client generated at run time from the verbatim
 * `api.proto` (as crictl or the kubelet would call pierd), and small helpers to call it and
 * wait for conditions.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { criProtoDir } from "../engine/cri/proto.js";
import { makeTempDir, removeTempDir } from "./busybox.js";

/** A decoded message (read field by field). */
// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages are read field by field
export type Msg = Record<string, any>;
/** A generated client: its methods by name. */
export type Client = grpc.Client &
  Record<string, (req: Msg, cb: (err: grpc.ServiceError | null, res: Msg) => void) => void>;

/** The RuntimeService and ImageService clients of the CRI socket `socket`. */
export function clients(socket: string): { runtime: Client; image: Client } {
  const dir = criProtoDir();
  const def = loadSync(join(dir, "api.proto"), {
    includeDirs: [dir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js's generated constructors are untyped
  const pkg = grpc.loadPackageDefinition(def) as any;
  const make = (svc: string) =>
    new pkg.runtime.v1[svc](`unix:${socket}`, grpc.credentials.createInsecure()) as Client;
  return { runtime: make("RuntimeService"), image: make("ImageService") };
}

/** One unary call. */
export function call(client: Client, method: string, req: Msg = {}): Promise<Msg> {
  return new Promise((resolve, reject) =>
    client[method]!(req, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** Asserts that `p` fails with gRPC status `code` and details matching `text`. */
export async function rejectsWith(p: Promise<unknown>, code: grpc.status, text: RegExp): Promise<void> {
  await assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `status ${err.code}: ${err.details}`);
    assert.match(err.details, text);
    return true;
  });
}

/** Polls `f` until it gives a value (every 50 ms, up to `ms`). */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 20000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CNI config directory for a test pierd (`--cni-conf-dir`) and what it made. */
export interface CriTestNetwork {
  /** pierd's flags: `--cni-conf-dir DIR`. */
  flags: string[];
  dir: string;
  subnet: string;
  /** Removes the bridge the plugin made and the directory. */
  cleanup(): Promise<void>;
}

/**
 * A CNI config directory holding one bridge + portmap conflist, as a cluster's network add-on
 * writes into /etc/cni/net.d: its own bridge device, a random /24 and IPAM state in the directory.
 */
export async function criTestNetwork(): Promise<CriTestNetwork> {
  const dir = await makeTempDir("pier-cni-conf-");
  const tag = randomBytes(3).toString("hex");
  const subnet = `10.${200 + ((randomBytes(1)[0] as number) % 50)}.${randomBytes(1)[0]}.0/24`;
  const bridge = `pc${tag}`;
  writeFileSync(
    join(dir, "10-pod.conflist"),
    JSON.stringify({
      cniVersion: "1.0.0",
      name: `podnet-${tag}`,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: true,
          ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: join(dir, "ipam") },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    }),
  );
  // Ignored: a later name in lexical order.
  writeFileSync(
    join(dir, "20-other.conflist"),
    JSON.stringify({ cniVersion: "1.0.0", name: "other", plugins: [{ type: "nope" }] }),
  );
  return {
    flags: ["--cni-conf-dir", dir],
    dir,
    subnet,
    async cleanup() {
      spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
      await removeTempDir(dir);
    },
  };
}

/** The masked paths a kubelet sends by default (its copy of Docker's list), as request input. */
export const KUBELET_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** The read-only paths a kubelet sends by default. */
export const KUBELET_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];
