/**
 * Pulls through loopback mirrors (pier's registry and Debian's docker-registry) by the upstream
 * names `registry.k8s.io/pause:3.10` and `docker.io/library/busybox:latest`. The upstream
 * locations are rewritten to a trap listener on 127.0.0.1 that records every connection (so no
 * test ever sends a packet off the machine), and every connection pier opens is observed through
 * undici's diagnostics channel: a pull that touched anything but a mirror fails the test.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { hostPlatform } from "../../oci/platform.js";
import { defaultRegistryConfig } from "../../registry/config.js";
import { type RunningRegistry as PierRegistry, startRegistry } from "../../registry/server.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { pierCommand } from "../../testing/engine.js";
import { freePort } from "../../testing/free-port.js";
import { type RunningRegistry, startDockerRegistry } from "../../testing/remote-docker-registry.js";
import { writeBusyboxImage, writeRandomImage } from "../../testing/remote-image.js";
import { requireTool } from "../../testing/tools.js";
import { copy } from "../copy-transports.js";
import { RemoteError } from "../error.js";
import { pull } from "../pull.js";
import { loadRegistriesConfig } from "./config.js";

const execFileP = promisify(execFile);

let tmp: string;
let pierReg: PierRegistry;
let dockerReg: RunningRegistry;
let trap: Server;
let trapPort: number;
const trapped: string[] = [];
const trapSockets = new Set<Socket>();
let busyboxDigest: string;
let pauseDigest: string;

/** host:port of every connection pier's HTTP client opened while `fn` ran. */
async function connections<T>(fn: () => Promise<T>): Promise<{ result: T; hosts: string[] }> {
  const hosts: string[] = [];
  const onConnect = (msg: unknown) => {
    const p = (msg as { connectParams: { hostname: string; port: string } }).connectParams;
    hosts.push(`${p.hostname}:${p.port}`);
  };
  subscribe("undici:client:beforeConnect", onConnect);
  try {
    return { result: await fn(), hosts };
  } finally {
    unsubscribe("undici:client:beforeConnect", onConnect);
  }
}

async function conf(name: string, text: string): Promise<string> {
  const file = join(tmp, name);
  await writeFile(file, text);
  return file;
}

/** Both upstreams point at the trap; mirrors are `mirrors[prefix]`. */
function mirrorConf(extra: { k8s?: string[]; hub?: string[]; blocked?: boolean } = {}): string {
  const block = (prefix: string, mirrors: string[]) =>
    `[[registry]]\nprefix = "${prefix}"\nlocation = "127.0.0.1:${trapPort}"\ninsecure = true\n` +
    (extra.blocked ? "blocked = true\n" : "") +
    mirrors.map((m) => `[[registry.mirror]]\nlocation = "${m}"\ninsecure = true\n`).join("");
  return `${block("registry.k8s.io", extra.k8s ?? [pierReg.host])}\n${block("docker.io", extra.hub ?? [dockerReg.host])}`;
}

before(async () => {
  tmp = await makeTempDir("pier-mirrors-");
  const layout = join(tmp, "layout");
  busyboxDigest = (await writeBusyboxImage(layout, "busybox", hostPlatform())).digest;
  pauseDigest = (await writeRandomImage(layout, "pause", [1000, 2000], hostPlatform())).digest;
  pierReg = await startRegistry(
    {
      ...defaultRegistryConfig(),
      addr: "127.0.0.1:0",
      root: join(tmp, "pier-reg"),
      auth: { mode: "none" },
      log: { access: false },
    },
    { log: () => {} },
  );
  dockerReg = await startDockerRegistry();
  // both mirrors serve both images under their upstream repository names
  for (const host of [pierReg.host, dockerReg.host]) {
    await copy(`oci:${layout}:pause`, `docker://${host}/pause:3.10`, { insecure: true });
    await copy(`oci:${layout}:busybox`, `docker://${host}/library/busybox:latest`, { insecure: true });
  }
  trap = createServer((s) => {
    trapped.push(`${s.remoteAddress}:${s.remotePort}`);
    trapSockets.add(s);
    s.on("close", () => trapSockets.delete(s));
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  trapPort = (trap.address() as { port: number }).port;
});

after(async () => {
  await pierReg?.close(1000);
  await dockerReg?.stop();
  await new Promise((r) => trap?.close(r));
  if (tmp) await removeTempDir(tmp);
});

describe("pulls through mirrors", () => {
  test("registry.k8s.io/pause and docker.io/library/busybox come from the mirrors only", async () => {
    const file = await conf("mirrors.conf", mirrorConf());
    const registries = loadRegistriesConfig({ file });
    const store = join(tmp, "store1");
    const before = trapped.length;
    const { result, hosts } = await connections(async () => [
      await pull("registry.k8s.io/pause:3.10", { registries, storeRoot: store }),
      await pull("docker.io/library/busybox:latest", { registries, storeRoot: store }),
    ]);
    assert.equal(result[0]!.digest, pauseDigest);
    assert.equal(result[1]!.digest, busyboxDigest);
    // named by the upstream names, not the mirror's
    assert.equal(result[0]!.name, "registry.k8s.io/pause:3.10");
    assert.equal(result[1]!.name, "docker.io/library/busybox:latest");
    const index = JSON.parse(await readFile(join(store, "content", "index.json"), "utf8")) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    const names = index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]);
    assert.ok(names.includes("registry.k8s.io/pause:3.10"), JSON.stringify(names));
    assert.equal(trapped.length, before, "a connection reached the upstream");
    assert.ok(hosts.length > 0);
    for (const h of hosts) assert.ok(h === pierReg.host || h === dockerReg.host, `connection to ${h}`);
  });

  test("skopeo reads the same registries.conf and agrees on the digests", async () => {
    const skopeo = requireTool("/usr/bin/skopeo", "skopeo");
    const file = await conf("skopeo.conf", mirrorConf());
    const before = trapped.length;
    for (const [name, digest] of [
      ["registry.k8s.io/pause:3.10", pauseDigest],
      ["docker.io/library/busybox:latest", busyboxDigest],
    ] as const) {
      const { stdout } = await execFileP(skopeo, [
        "inspect",
        "--registries-conf",
        file,
        // listing tags goes to the logical registry in containers/image, never to a mirror
        "--no-tags",
        "--format",
        "{{.Digest}}",
        `docker://${name}`,
      ]);
      assert.equal(stdout.trim(), digest, name);
      const ours = await pull(name, {
        registries: loadRegistriesConfig({ file }),
        storeRoot: join(tmp, "store-skopeo"),
      });
      assert.equal(ours.digest, digest);
    }
    assert.equal(trapped.length, before, "skopeo or pier reached the upstream");
  });

  test("a mirror that is down falls through to the next with one warning", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const file = await conf("down.conf", mirrorConf({ hub: [dead, dockerReg.host] }));
    const warnings: string[] = [];
    const before = trapped.length;
    const r = await pull("docker.io/library/busybox:latest", {
      registries: loadRegistriesConfig({ file }),
      storeRoot: join(tmp, "store-down"),
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(r.digest, busyboxDigest);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, new RegExp(`mirror ${dead.replace(/\./g, "\\.")}/library/busybox:latest`));
    assert.equal(trapped.length, before);
  });

  test("when every mirror fails the upstream is asked last (the trap sees it)", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const file = await conf("alldown.conf", mirrorConf({ hub: [dead] }));
    const before = trapped.length;
    const warnings: string[] = [];
    await assert.rejects(
      pull("docker.io/library/busybox:latest", {
        registries: loadRegistriesConfig({ file }),
        storeRoot: join(tmp, "store-alldown"),
        onWarning: (m) => warnings.push(m),
        retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      }),
    );
    assert.ok(trapped.length > before, "the upstream was not tried");
    assert.equal(warnings.length, 1);
  });

  test("a mirror lacking the digest falls through to the next mirror", async () => {
    // the first mirror location has no such manifest
    const file = await conf(
      "wrong.conf",
      `[[registry]]\nprefix = "registry.k8s.io/pause"\nlocation = "127.0.0.1:${trapPort}/pause"\ninsecure = true\n` +
        `[[registry.mirror]]\nlocation = "${pierReg.host}/library/busybox"\ninsecure = true\n` +
        `[[registry.mirror]]\nlocation = "${dockerReg.host}/pause"\ninsecure = true\n`,
    );
    const warnings: string[] = [];
    const r = await pull(`registry.k8s.io/pause@${pauseDigest}`, {
      registries: loadRegistriesConfig({ file }),
      storeRoot: join(tmp, "store-wrong"),
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(r.digest, pauseDigest);
    assert.equal(warnings.length, 1);
  });

  test("blocked = true is refused before any connection", async () => {
    const file = await conf("blocked.conf", mirrorConf({ blocked: true }));
    const { hosts } = await connections(() =>
      assert.rejects(
        pull("registry.k8s.io/pause:3.10", {
          registries: loadRegistriesConfig({ file }),
          storeRoot: join(tmp, "store-blocked"),
        }),
        (err: unknown) =>
          err instanceof RemoteError && err.code === "REGISTRY_BLOCKED" && /blocked/.test(err.message),
      ),
    );
    assert.deepEqual(hosts, []);
  });
});

describe("short names", () => {
  test("an alias names the image; the mirror serves it", async () => {
    const file = await conf("alias.conf", `${mirrorConf()}\n[aliases]\n"pause" = "registry.k8s.io/pause"\n`);
    const r = await pull("pause:3.10", {
      registries: loadRegistriesConfig({ file }),
      storeRoot: join(tmp, "store-alias"),
    });
    assert.equal(r.name, "registry.k8s.io/pause:3.10");
    assert.equal(r.digest, pauseDigest);
  });

  test("enforcing mode without a terminal fails with a clear message; `pier pull` exits non-zero", async () => {
    const file = await conf(
      "enforcing.conf",
      `unqualified-search-registries = ["registry.k8s.io", "docker.io"]\nshort-name-mode = "enforcing"\n${mirrorConf()}`,
    );
    const [cmd, argv] = pierCommand([
      "--root",
      join(tmp, "store-enforcing"),
      "pull",
      "--registries-conf",
      file,
      "somethingshort:1",
    ]);
    const r = await execFileP(cmd, argv).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    assert.ok(r, "pier pull succeeded");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /short-name resolution enforced but cannot prompt without a TTY/);
    assert.match(r.stderr, /registry\.k8s\.io\/somethingshort, docker\.io\/library\/somethingshort/);
  });

  test("permissive mode tries every search registry in order", async () => {
    const file = await conf(
      "permissive.conf",
      `unqualified-search-registries = ["registry.k8s.io", "docker.io"]\nshort-name-mode = "permissive"\n${mirrorConf()}`,
    );
    const r = await pull("busybox", {
      registries: loadRegistriesConfig({ file }),
      storeRoot: join(tmp, "store-permissive"),
      onWarning: () => {},
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    });
    assert.equal(r.name, "docker.io/library/busybox:latest");
    assert.equal(r.digest, busyboxDigest);
  });
});
