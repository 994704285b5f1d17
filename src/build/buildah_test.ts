// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
/**
 * pier's builder against Debian's Buildah 1.28 (`buildah bud --format docker`) on the same
 * Dockerfile and context: the image configs agree field by field and the root filesystems hold
 * the same files with the same modes, owners and contents.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { unpackImage } from "../image/unpack.js";
import { type BuildFixture, buildFixture } from "../testing/build.js";
import { type Buildah, useBuildah } from "../testing/buildah.js";
import { snapshotTree } from "../testing/tree-snapshot.js";

let fx: BuildFixture;
let buildah: Buildah;
before(async () => {
  fx = await buildFixture();
  buildah = await useBuildah(join(fx.work, "buildah"));
});
after(async () => {
  await buildah?.run(["rm", "--all"]).catch(() => {});
  await fx?.close();
});

/** The config fields the issue lists, as both builders must agree on them. */
function comparable(c: Record<string, unknown>): Record<string, unknown> {
  const labels = { ...((c.Labels as Record<string, string>) ?? {}) };
  // buildah stamps its version; pier does not.
  delete labels["io.buildah.version"];
  const pick: Record<string, unknown> = { Labels: labels };
  for (const k of [
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Healthcheck",
    "StopSignal",
    "OnBuild",
    "Shell",
  ]) {
    const v = c[k];
    if (v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0)) pick[k] = v;
  }
  return pick;
}

async function tree(ref: string): Promise<string[]> {
  const u = await unpackImage(fx.store, ref, join(fx.work, `unpack-${ref.replace(/[^a-z0-9]/gi, "_")}`));
  return snapshotTree(u.rootfs, { mtime: false, xattrs: false });
}

test("pier build and buildah bud agree on config and files for a Dockerfile using every instruction", async () => {
  const tar = spawnSync("tar", ["-c", "-C", "/etc", "hostname", "os-release"], { encoding: "buffer" }).stdout;
  const dockerfile = [
    "ARG BASE",
    "FROM ${BASE} AS build",
    "ARG VERSION=1.0",
    'ENV APP_HOME=/opt/app LANG="C.UTF-8"',
    "WORKDIR $APP_HOME",
    "COPY --chown=1000:10 src/ ./src/",
    "COPY *.conf /etc/app/",
    "RUN mkdir -p out && cp -r src out/ && echo $VERSION > out/version && chmod 0750 out",
    "ADD files.tar /opt/extracted/",
    "",
    "FROM ${BASE}",
    "LABEL org.opencontainers.image.title=demo maintainer=pier",
    "COPY --from=build /opt/app/out /srv/out",
    "COPY --chmod=0600 app.conf /srv/",
    "COPY --from=build /opt/extracted/ /srv/etc/",
    "ENV PORT=8080",
    "EXPOSE $PORT 53/udp",
    "VOLUME /data",
    "WORKDIR /srv",
    "USER 1000:1000",
    "STOPSIGNAL SIGTERM",
    "HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD cat /srv/out/version",
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["cat out/version"]',
    "ONBUILD RUN echo child",
  ].join("\n");
  const files = {
    Dockerfile: dockerfile,
    "src/main.sh": { content: "#!/bin/sh\necho main\n", mode: 0o755 },
    "src/lib/util.sh": "util\n",
    "app.conf": "a=1\n",
    "other.conf": "b=2\n",
    "files.tar": { content: tar, mode: 0o644 },
    ".dockerignore": "ignored.txt\n",
    "ignored.txt": "no",
  };
  const built = await fx.build(dockerfile, files, {
    tags: ["cmp/pier:1"],
    buildArgs: new Map([["BASE", fx.busybox]]),
  });
  await buildah.bud(built.context, "cmp-buildah", ["--build-arg", `BASE=${fx.busybox}`]);
  await buildah.exportTo("cmp-buildah", fx.store, "cmp/buildah:1");
  const p = await fx.store.resolveImage("cmp/pier:1");
  const b = await fx.store.resolveImage("cmp/buildah:1");
  const pc = comparable(p.config.config as Record<string, unknown>);
  assert.deepEqual(pc, comparable(b.config.config as Record<string, unknown>));
  // Not vacuous: every field the Dockerfile sets is there.
  assert.deepEqual(Object.keys(pc).sort(), [
    "Cmd",
    "Entrypoint",
    "Env",
    "ExposedPorts",
    "Healthcheck",
    "Labels",
    "OnBuild",
    "StopSignal",
    "User",
    "Volumes",
    "WorkingDir",
  ]);
  const pt = await tree("cmp/pier:1");
  assert.deepEqual(pt, await tree("cmp/buildah:1"));
  for (const f of [
    "srv/out/version file 644 0:0",
    "srv/out/src/main.sh file 755 0:0",
    "srv/app.conf file 600 0:0",
    "srv/etc/hostname file",
  ])
    assert.ok(
      pt.some((l) => l.startsWith(f)),
      f,
    );
});
