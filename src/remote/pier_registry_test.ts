import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { htpasswdSet } from "../registry/auth/htpasswd.js";
import { defaultRegistryConfig, type RegistryConfig } from "../registry/config.js";
import { type RunningRegistry, startRegistry } from "../registry/server.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { writeBusyboxImage } from "../testing/remote-image.js";
import { pushArtifact } from "./artifact.js";
import { copy } from "./copy-transports.js";
import { listReferrers, listTags } from "./inspect.js";
import { pull, push } from "./pull.js";

let tmp: string;
let layout: string;
let digest: string;
before(async () => {
  tmp = await makeTempDir("pier-remote-pierreg-");
  layout = join(tmp, "layout");
  digest = (await writeBusyboxImage(layout, "v1", hostPlatform())).digest;
});
after(async () => {
  if (tmp) await removeTempDir(tmp);
});

async function start(name: string, auth: RegistryConfig["auth"]): Promise<RunningRegistry> {
  const base = defaultRegistryConfig();
  return startRegistry(
    { ...base, addr: "127.0.0.1:0", root: join(tmp, name), auth, log: { access: false } },
    { log: () => {} },
  );
}

for (const mode of ["none", "basic", "token"] as const) {
  describe(`pier's registry, auth ${mode}`, () => {
    let reg: RunningRegistry;
    let configPath: string;
    before(async () => {
      const htpasswd = join(tmp, `${mode}.htpasswd`);
      configPath = join(tmp, `${mode}-config.json`);
      if (mode !== "none") await htpasswdSet(htpasswd, "carol", "pw");
      reg = await start(mode, mode === "none" ? { mode } : { mode, htpasswd });
      await writeFile(
        configPath,
        JSON.stringify({ auths: { [reg.host]: { username: "carol", password: "pw" } } }),
      );
    });
    after(() => reg?.close(1000));

    test("push, pull and copy round trips keep every digest; referrers through the API", async () => {
      const opts = { insecure: true, configPath };
      const r1 = await copy(`oci:${layout}:v1`, `docker://${reg.host}/p/img:v1`, opts);
      assert.equal(r1.digest, digest);
      const store = join(tmp, `${mode}-store`);
      const r2 = await pull(`${reg.host}/p/img:v1`, { ...opts, storeRoot: store });
      assert.equal(r2.digest, digest);
      const r3 = await push(`${reg.host}/q/img:v2`, {
        ...opts,
        storeRoot: store,
        localName: `${reg.host}/p/img:v1`,
      });
      assert.equal(r3.digest, digest);
      assert.deepEqual(await listTags(`${reg.host}/q/img`, opts), ["v2"]);
      const art = await pushArtifact(`${reg.host}/q/img:sig`, [join(layout, "oci-layout")], {
        ...opts,
        artifactType: "application/vnd.example.sig",
        subject: `${reg.host}/q/img:v2`,
      });
      const refs = await listReferrers(`${reg.host}/q/img:v2`, opts);
      assert.deepEqual(
        refs.referrers.map((r) => r.digest),
        [art.digest],
      );
    });

    if (mode !== "none") {
      test("without credentials: UNAUTHORIZED", async () => {
        await assert.rejects(
          pull(`${reg.host}/p/img:v1`, {
            insecure: true,
            configPath: join(tmp, "none.json"),
            storeRoot: join(tmp, "x"),
          }),
          { code: "UNAUTHORIZED" },
        );
      });
    }
  });
}
