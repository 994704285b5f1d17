import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeBusyboxImage } from "../testing/remote-image.js";
import { writeSelfSignedKeyPair } from "../testing/tls-cert.js";
import { copy } from "./copy-transports.js";

let tmp: string;
let tlsReg: RunningRegistry;
let plainReg: RunningRegistry;
let layout: string;
let caCert: string;
before(async () => {
  tmp = await makeTempDir("pier-remote-tls-");
  const pair = await writeSelfSignedKeyPair(tmp, "127.0.0.1", { ipAddress: "127.0.0.1" });
  caCert = pair.certPem;
  tlsReg = await startDockerRegistry({ kind: "none" }, { certFile: pair.certFile, keyFile: pair.keyFile });
  plainReg = await startDockerRegistry();
  layout = join(tmp, "layout");
  await writeBusyboxImage(layout, "v1", hostPlatform());
});
after(async () => {
  await tlsReg?.stop();
  await plainReg?.stop();
  if (tmp) await removeTempDir(tmp);
});

test("HTTPS with an extra CA (--ca-cert) works; without it the self-signed certificate is refused", async () => {
  const config = { configPath: join(tmp, "none.json") };
  await assert.rejects(
    copy(`oci:${layout}:v1`, `docker://${tlsReg.host}/t/img:v1`, config),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "NETWORK");
      assert.match(err.message, /certificate/i);
      return true;
    },
  );
  const res = await copy(`oci:${layout}:v1`, `docker://${tlsReg.host}/t/img:v1`, { ...config, caCert });
  assert.ok(res.digest.startsWith("sha256:"));
  const back = await copy(`docker://${tlsReg.host}/t/img:v1`, `oci:${join(tmp, "back")}:v1`, {
    ...config,
    caCert,
  });
  assert.equal(back.digest, res.digest);
});

test("a plain-HTTP registry not marked insecure is an error, never a silent downgrade", async () => {
  await assert.rejects(
    copy(`oci:${layout}:v1`, `docker://${plainReg.host}/t/img:v1`, {
      configPath: join(tmp, "none.json"),
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    }),
    { code: "NETWORK" },
  );
  // Marked insecure for another registry only: still refused.
  await assert.rejects(
    copy(`oci:${layout}:v1`, `docker://${plainReg.host}/t/img:v1`, {
      insecure: ["elsewhere:5000"],
      configPath: join(tmp, "none.json"),
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    }),
    { code: "NETWORK" },
  );
  const ok = await copy(`oci:${layout}:v1`, `docker://${plainReg.host}/t/img:v1`, {
    insecure: [plainReg.host],
    configPath: join(tmp, "none.json"),
  });
  assert.ok(ok.digest.startsWith("sha256:"));
});
