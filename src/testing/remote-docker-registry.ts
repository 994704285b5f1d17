/**
 * Test support (not library API): runs Debian's `docker-registry` (distribution 2.8) on a free
 * loopback port with a temp config — plain, htpasswd, or token auth trusting a given cert.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import bcrypt from "bcryptjs";
import { freePort } from "./free-port.js";

/** Path of Debian's registry binary. */
export const DOCKER_REGISTRY = "/usr/bin/docker-registry";

/** Auth setup of a test registry. */
export type RegistryAuth =
  | { kind: "none" }
  | { kind: "htpasswd"; users: Record<string, string> }
  | { kind: "token"; realm: string; service: string; issuer: string; certPem: string };

/** A running registry. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, usable as the registry part of a reference. */
  host: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry`; throws with a clear message when it is not installed. With
 * `tls.clientCas` it demands a client certificate issued by one of them.
 */
export async function startDockerRegistry(
  auth: RegistryAuth = { kind: "none" },
  tls?: { certFile: string; keyFile: string; clientCas?: string[] },
): Promise<RunningRegistry> {
  if (!existsSync(DOCKER_REGISTRY)) {
    throw new Error(`${DOCKER_REGISTRY} is missing: apt-get install -y docker-registry`);
  }
  const dir = await mkdtemp(join(tmpdir(), "pier-dreg-"));
  const port = await freePort();
  let authYaml = "";
  if (auth.kind === "htpasswd") {
    const lines = Object.entries(auth.users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
    await writeFile(join(dir, "htpasswd"), `${lines.join("\n")}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: pier-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth.kind === "token") {
    await writeFile(join(dir, "token.crt"), auth.certPem);
    authYaml =
      `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n` +
      `    issuer: ${auth.issuer}\n    rootcertbundle: ${join(dir, "token.crt")}\n`;
  }
  const config =
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n` +
    `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n` +
    (tls ? `  tls:\n    certificate: ${tls.certFile}\n    key: ${tls.keyFile}\n` : "") +
    (tls?.clientCas ? `    clientcas:\n${tls.clientCas.map((c) => `      - ${c}\n`).join("")}` : "") +
    authYaml;
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn(DOCKER_REGISTRY, ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      if (tls) {
        await new Promise<void>((resolve, reject) => {
          const s = connect(port, "127.0.0.1", () => {
            s.destroy();
            resolve();
          });
          s.on("error", reject);
        });
      } else {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        await res.arrayBuffer();
      }
      return { host: `127.0.0.1:${port}`, port, dir, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  throw new Error(`docker-registry did not start: ${stderr}`);
}
