/**
 * containerd's `hosts.toml` and Docker's `certs.d` under pier's per-host directory, against
 * Debian's docker-registry (plain and TLS with a self-signed certificate) on 127.0.0.1. The
 * `server` of every hosts.toml is a trap listener that counts connections.
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostPlatform } from "../../oci/platform.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../../testing/remote-docker-registry.js";
import { writeBusyboxImage } from "../../testing/remote-image.js";
import { type SelfSignedKeyPair, writeSelfSignedKeyPair } from "../../testing/tls-cert.js";
import { copy } from "../copy-transports.js";
import { RemoteError } from "../error.js";
import { pull } from "../pull.js";
import { loadRegistriesConfig } from "./config.js";

let tmp: string;
let plain: RunningRegistry;
let tls: RunningRegistry;
let pair: SelfSignedKeyPair;
let digest: string;
let trap: Server;
let trapPort: number;
let trapped = 0;
let n = 0;

/** A fresh certs dir with `files` (path → content) and an empty registries.conf. */
async function setup(files: Record<string, string>): Promise<ReturnType<typeof loadRegistriesConfig>> {
  const dir = join(tmp, `certs${++n}`);
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(dir, p, ".."), { recursive: true });
    await writeFile(join(dir, p), content);
  }
  const conf = join(tmp, `empty${n}.conf`);
  await writeFile(conf, "");
  return loadRegistriesConfig({ file: conf, certsDir: dir });
}

before(async () => {
  tmp = await makeTempDir("pier-hosts-");
  const layout = join(tmp, "layout");
  digest = (await writeBusyboxImage(layout, "busybox", hostPlatform())).digest;
  pair = await writeSelfSignedKeyPair(tmp, "127.0.0.1", { ipAddress: "127.0.0.1" });
  plain = await startDockerRegistry();
  tls = await startDockerRegistry({ kind: "none" }, { certFile: pair.certFile, keyFile: pair.keyFile });
  await copy(`oci:${layout}:busybox`, `docker://${plain.host}/pause:3.10`, { insecure: true });
  await copy(`oci:${layout}:busybox`, `docker://${tls.host}/pause:3.10`, { caCert: pair.certPem });
  trap = createServer((s) => {
    trapped++;
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  trapPort = (trap.address() as { port: number }).port;
});

after(async () => {
  await plain?.stop();
  await tls?.stop();
  await new Promise((r) => trap?.close(r));
  if (tmp) await removeTempDir(tmp);
});

test("hosts.toml mirrors are tried in order with their headers and path, server last", async () => {
  // the first mirror answers 404 to everything and records what it was sent
  const seen: { url: string; header: string | undefined }[] = [];
  const recorder = createHttpServer((req, res) => {
    seen.push({ url: req.url ?? "", header: req.headers["x-pier-test"] as string | undefined });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => recorder.listen(0, "127.0.0.1", r));
  const rport = (recorder.address() as { port: number }).port;
  const registries = await setup({
    "registry.k8s.io/hosts.toml":
      `server = "http://127.0.0.1:${trapPort}"\n` +
      `[host."http://127.0.0.1:${rport}/proxy/k8s"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n` +
      `  header = { "x-pier-test" = ["a", "b"] }\n` +
      `[host."http://${plain.host}"]\n  capabilities = ["pull", "resolve"]\n`,
  });
  const warnings: string[] = [];
  const before = trapped;
  const r = await pull("registry.k8s.io/pause:3.10", {
    registries,
    storeRoot: join(tmp, "s1"),
    onWarning: (m) => warnings.push(m),
  });
  assert.equal(r.digest, digest);
  assert.equal(r.name, "registry.k8s.io/pause:3.10");
  assert.equal(warnings.length, 1);
  assert.equal(trapped, before);
  recorder.close();
  assert.ok(seen.length > 0);
  for (const x of seen) {
    assert.match(x.url, /^\/proxy\/k8s\/(pause\/manifests\/3\.10)?$/);
    assert.equal(x.header, "a, b");
  }
});

test('a host with only "pull" serves digest pulls, not tags (containerd\'s resolve capability)', async () => {
  const registries = await setup({
    "registry.k8s.io/hosts.toml":
      `server = "http://127.0.0.1:${trapPort}"\n` +
      `[host."http://${plain.host}"]\n  capabilities = ["pull"]\n`,
  });
  const before = trapped;
  const byDigest = await pull(`registry.k8s.io/pause@${digest}`, { registries, storeRoot: join(tmp, "s2") });
  assert.equal(byDigest.digest, digest);
  assert.equal(trapped, before);
  await assert.rejects(
    pull("registry.k8s.io/pause:3.10", {
      registries,
      storeRoot: join(tmp, "s2"),
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    }),
  );
  assert.ok(trapped > before, "a tag pull went to the server");
});

test("TLS mirror: refused without its CA, trusted with hosts.toml ca, with certs.d *.crt, or skip_verify", async () => {
  const mirror = (extra: string) =>
    `server = "http://127.0.0.1:${trapPort}"\n[host."https://${tls.host}"]\n  capabilities = ["pull", "resolve"]\n${extra}`;
  const opts = (registries: ReturnType<typeof loadRegistriesConfig>) => ({
    registries,
    storeRoot: join(tmp, `s3-${n}`),
    onWarning: () => {},
    retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const before = trapped;
  await assert.rejects(
    pull("registry.k8s.io/pause:3.10", opts(await setup({ "registry.k8s.io/hosts.toml": mirror("") }))),
  );
  assert.ok(trapped > before, "the untrusted mirror was not passed over");
  const after1 = trapped;
  const withCa = await setup({
    "registry.k8s.io/hosts.toml": mirror('  ca = "mirror-ca.pem"\n'),
    "registry.k8s.io/mirror-ca.pem": pair.certPem,
  });
  assert.equal((await pull("registry.k8s.io/pause:3.10", opts(withCa))).digest, digest);
  const withCertsD = await setup({
    "registry.k8s.io/hosts.toml": mirror(""),
    [`${tls.host}/ca.crt`]: pair.certPem,
  });
  assert.equal((await pull("registry.k8s.io/pause:3.10", opts(withCertsD))).digest, digest);
  const skip = await setup({ "registry.k8s.io/hosts.toml": mirror("  skip_verify = true\n") });
  assert.equal((await pull("registry.k8s.io/pause:3.10", opts(skip))).digest, digest);
  assert.equal(trapped, after1);
});

test("client certificates: hosts.toml `client` and certs.d *.cert/*.key are presented; none is refused", async () => {
  const clientDir = join(tmp, "client");
  await mkdir(clientDir);
  const client = await writeSelfSignedKeyPair(clientDir, "pier-client");
  const mtls = await startDockerRegistry(
    { kind: "none" },
    { certFile: pair.certFile, keyFile: pair.keyFile, clientCas: [client.certFile] },
  );
  try {
    const clientCert = { cert: client.certPem, key: client.keyPem };
    await copy(`oci:${join(tmp, "layout")}:busybox`, `docker://${mtls.host}/pause:3.10`, {
      caCert: pair.certPem,
      clientCert,
    });
    const mirror = (extra: string) =>
      `server = "http://127.0.0.1:${trapPort}"\n[host."https://${mtls.host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${pair.certFile}"\n${extra}`;
    const opts = (registries: ReturnType<typeof loadRegistriesConfig>) => ({
      registries,
      storeRoot: join(tmp, `s-mtls-${n}`),
      onWarning: () => {},
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const before = trapped;
    await assert.rejects(
      pull("registry.k8s.io/pause:3.10", opts(await setup({ "registry.k8s.io/hosts.toml": mirror("") }))),
    );
    assert.ok(trapped > before, "the mirror accepted a connection without a client certificate");
    const after1 = trapped;
    const withClient = await setup({
      "registry.k8s.io/hosts.toml": mirror(`  client = [["${client.certFile}", "${client.keyFile}"]]\n`),
    });
    assert.equal((await pull("registry.k8s.io/pause:3.10", opts(withClient))).digest, digest);
    const dockerStyle = await setup({
      "registry.k8s.io/hosts.toml": mirror(""),
      [`${mtls.host}/client.cert`]: client.certPem,
      [`${mtls.host}/client.key`]: client.keyPem,
    });
    assert.equal((await pull("registry.k8s.io/pause:3.10", opts(dockerStyle))).digest, digest);
    assert.equal(trapped, after1);
  } finally {
    await mtls.stop();
  }
});

test("certs.d applies to registries.conf mirrors too (Docker's per-host CA)", async () => {
  const dir = join(tmp, "certs-docker");
  await mkdir(join(dir, tls.host), { recursive: true });
  await copyFile(pair.certFile, join(dir, tls.host, "ca.crt"));
  const conf = join(tmp, "docker-style.conf");
  await writeFile(
    conf,
    `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "127.0.0.1:${trapPort}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${tls.host}"\n`,
  );
  const before = trapped;
  const r = await pull("registry.k8s.io/pause:3.10", {
    registries: loadRegistriesConfig({ file: conf, certsDir: dir }),
    storeRoot: join(tmp, "s4"),
  });
  assert.equal(r.digest, digest);
  assert.equal(trapped, before);
});

test("bad hosts.toml and certs.d content is refused naming the file and key", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { "registry.k8s.io/hosts.toml": '[host."http://x"]\n  mirror = true\n' },
      /unknown or unsupported key "mirror"/,
    ],
    [
      { "registry.k8s.io/hosts.toml": '[host."http://x"]\n  capabilities = ["fetch"]\n' },
      /capability "fetch"/,
    ],
    [{ "registry.k8s.io/hosts.toml": '[host."http://x"]\n  capabilities = ["resolve"]\n' }, /without "pull"/],
    [{ "registry.k8s.io/hosts.toml": '[host."http://x"]\n  ca = "missing.pem"\n' }, /ca: .*missing\.pem/],
    [{ [`127.0.0.1:${trapPort}/client.cert`]: pair.certPem }, /client certificate without its key/],
  ];
  for (const [files, re] of cases) {
    const registries = await setup(files);
    // the last case names the trap, so that nothing could leave the machine if the check were missing
    const name = Object.keys(files)[0]!.startsWith("127.") ? `127.0.0.1:${trapPort}` : "registry.k8s.io";
    await assert.rejects(
      pull(`${name}/pause:3.10`, { registries, storeRoot: join(tmp, "s5") }),
      (err: unknown) =>
        err instanceof RemoteError && err.code === "INVALID_REGISTRIES_CONF" && re.test(err.message),
    );
  }
  // a hosts.toml and a [[registry]] table for the same name: ambiguous, refused
  const dir = join(tmp, "both");
  await mkdir(join(dir, "registry.k8s.io"), { recursive: true });
  await writeFile(join(dir, "registry.k8s.io", "hosts.toml"), 'server = "https://registry.k8s.io"\n');
  const conf = join(tmp, "both.conf");
  await writeFile(conf, '[[registry]]\nlocation = "registry.k8s.io"\n');
  await assert.rejects(
    pull("registry.k8s.io/pause:3.10", {
      registries: loadRegistriesConfig({ file: conf, certsDir: dir }),
      storeRoot: join(tmp, "s6"),
    }),
    /both .*hosts\.toml and the \[\[registry\]\] prefix/,
  );
});
