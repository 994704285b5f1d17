// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { unpackImage } from "../image/unpack.js";
import { digestOf } from "../oci/digest.js";
import { type BuildFixture, buildFixture, cachedSteps } from "../testing/build.js";
import { BuildError } from "./error.js";

let fx: BuildFixture;
before(async () => {
  fx = await buildFixture();
});
after(async () => {
  await fx?.close();
});

/** Unpacks image `ref` and returns its rootfs path. */
async function rootfsOf(ref: string): Promise<string> {
  const dir = join(fx.work, `unpack-${Math.random().toString(16).slice(2)}`);
  return (await unpackImage(fx.store, ref, dir)).rootfs;
}

describe("pier build (real containers)", () => {
  it("builds a multi-stage Dockerfile: every instruction lands in the config and the files", async () => {
    const tar = spawnSync("tar", ["-c", "-C", "/etc", "hostname"], { encoding: "buffer" }).stdout;
    const df = [
      "ARG BASE",
      "FROM ${BASE} AS build",
      "ARG GREETING=hello",
      'ENV A=1 B="two words"',
      "WORKDIR /app",
      "COPY --chown=user:wheel --chmod=0640 conf/*.conf ./",
      "COPY bin/ /app/bin/",
      "ADD layer.tar /unpacked/",
      'RUN echo "$GREETING $A $B" > out.txt && id -u > uid.txt',
      "RUN <<EOF",
      "echo heredoc > /app/h.txt",
      "EOF",
      "COPY <<-NOTE /app/note.txt",
      "\tvalue=$A",
      "\tNOTE",
      "",
      "FROM ${BASE}",
      "COPY --from=build /app/ /srv/",
      "COPY --from=build /unpacked/hostname /srv/hostname",
      'SHELL ["/bin/sh", "-ec"]',
      "LABEL org.example.k=v other=x",
      "EXPOSE 8080 53/udp",
      "VOLUME /data",
      "STOPSIGNAL SIGINT",
      "HEALTHCHECK --interval=30s --retries=2 CMD wget -q localhost || exit 1",
      "USER 1000:1000",
      'ENTRYPOINT ["/bin/cat"]',
      'CMD ["/srv/out.txt"]',
      "ONBUILD RUN echo triggered > /tmp/trigger",
    ].join("\n");
    const r = await fx.build(
      df,
      {
        "conf/a.conf": "a",
        "conf/b.conf": "b",
        "conf/c.txt": "c",
        "bin/tool": { content: "#!/bin/sh\n", mode: 0o755 },
        "bin/suid": { content: "#!/bin/sh\n", mode: 0o4755 },
        "layer.tar": { content: tar, mode: 0o644 },
      },
      {
        tags: ["demo:1"],
        buildArgs: new Map([
          ["BASE", fx.busybox],
          ["GREETING", "hi"],
        ]),
      },
    );
    assert.deepEqual(r.names, ["docker.io/library/demo:1"]);
    const img = await fx.store.resolveImage("demo:1");
    const c = img.config.config!;
    assert.deepEqual(c.Entrypoint, ["/bin/cat"]);
    assert.deepEqual(c.Cmd, ["/srv/out.txt"]);
    assert.equal(c.User, "1000:1000");
    assert.deepEqual(c.ExposedPorts, { "8080/tcp": {}, "53/udp": {} });
    assert.deepEqual(c.Volumes, { "/data": {} });
    assert.deepEqual(c.Labels, { "org.example.k": "v", other: "x" });
    assert.equal(c.StopSignal, "SIGINT");
    assert.deepEqual(c.Shell, ["/bin/sh", "-ec"]);
    assert.deepEqual(c.OnBuild, ["RUN echo triggered > /tmp/trigger"]);
    assert.deepEqual(c.Healthcheck, {
      Test: ["CMD-SHELL", "wget -q localhost || exit 1"],
      Interval: 30e9,
      Retries: 2,
    });
    // Stage one's ENV does not leak into stage two.
    assert.deepEqual(c.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    const root = await rootfsOf("demo:1");
    assert.equal(await readFile(join(root, "srv/out.txt"), "utf8"), "hi 1 two words\n");
    assert.equal(await readFile(join(root, "srv/uid.txt"), "utf8"), "0\n");
    assert.equal(await readFile(join(root, "srv/h.txt"), "utf8"), "heredoc\n");
    assert.equal(await readFile(join(root, "srv/note.txt"), "utf8"), "value=1\n");
    assert.equal(await readFile(join(root, "srv/hostname"), "utf8"), await readFile("/etc/hostname", "utf8"));
    const conf = await stat(join(root, "srv/a.conf"));
    assert.equal(conf.mode & 0o7777, 0o640);
    assert.equal(conf.uid, 1000);
    assert.equal(conf.gid, 10);
    await assert.rejects(stat(join(root, "srv/c.txt")));
    assert.equal((await stat(join(root, "srv/bin/tool"))).mode & 0o777, 0o755);
    // The setuid bit survives the copy and the chown (which clears it).
    assert.equal((await stat(join(root, "srv/bin/suid"))).mode & 0o7777, 0o4755);
    // History: one entry per instruction, the config-only ones marked empty.
    const hist = img.config.history!.filter((h) => h.comment === "buildkit.dockerfile.v0");
    assert.equal(hist.length, 12);
    assert.equal(hist.filter((h) => !h.empty_layer).length, img.manifest.layers.length - 1);

    // ONBUILD triggers run in a build FROM it, and are not inherited further.
    const child = await fx.build("FROM demo:1\n", {}, { tags: ["child:1"] });
    assert.ok(child.events.some((e) => e.kind === "step"));
    const childImg = await fx.store.resolveImage("child:1");
    assert.equal(childImg.config.config?.OnBuild, undefined);
    assert.equal(await readFile(join(await rootfsOf("child:1"), "tmp/trigger"), "utf8"), "triggered\n");
  });

  it("reuses the cache on a second build, keyed by content not mtimes; a changed file reruns what follows", async () => {
    const df = `FROM ${fx.busybox}\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt && echo ran\nCOPY c.txt /c.txt\n`;
    const first = await fx.build(df, { "a.txt": "one", "c.txt": "c" });
    assert.equal(cachedSteps(first.events), 0);
    assert.match(first.output, /ran/);
    await utimes(join(first.context, "a.txt"), new Date(1000), new Date(1000));
    const second = await fx.rebuild(first.context, df);
    assert.equal(cachedSteps(second.events), 3);
    assert.equal(second.output, "");
    await writeFile(join(first.context, "a.txt"), "two");
    const third = await fx.rebuild(first.context, df);
    assert.equal(cachedSteps(third.events), 0);
    assert.match(third.output, /ran/);
    const noCache = await fx.rebuild(first.context, df, { noCache: true });
    assert.equal(cachedSteps(noCache.events), 0);
  });

  it("keeps the context's digests by stat, yet copies anew a file rewritten with its size and mtime put back", async () => {
    const df = `FROM ${fx.busybox}\nCOPY a.txt /a.txt\n`;
    const ctx = join(fx.work, "ctx-stat");
    await mkdir(ctx);
    const file = join(ctx, "a.txt");
    await writeFile(file, "aaaa");
    const before = await stat(file);
    // Only a file older than the racy margin is recorded: wait for it (bounded).
    const deadline = Date.now() + 10_000;
    while (Date.now() - before.ctimeMs < 2_500) {
      assert.ok(Date.now() < deadline, "the file never became old enough");
      await new Promise((r) => setTimeout(r, 100));
    }
    await fx.rebuild(ctx, df, { tags: ["statkey:1"] });
    // The cache file of this context (named after its path): the file was recorded.
    const cacheFile = `${digestOf(ctx).slice("sha256:".length, "sha256:".length + 32)}.json`;
    const hashes = join(fx.work, "store", "build", "context-hashes", cacheFile);
    assert.match(await readFile(hashes, "utf8"), /"a\.txt"/);
    await writeFile(file, "bbbb");
    await utimes(file, before.atime, before.mtime);
    const again = await fx.rebuild(ctx, df, { tags: ["statkey:1"] });
    assert.equal(cachedSteps(again.events), 0);
    assert.equal(await readFile(join(await rootfsOf("statkey:1"), "a.txt"), "utf8"), "bbbb");
  });

  it("COPY --from links the stage's unchanged files (no --chown), and a later change never alters the stage", async () => {
    const df = [
      `FROM ${fx.busybox} AS one`,
      "RUN mkdir /d && echo original > /d/f && echo two > /d/g && echo three > /d/h && chown 7:8 /d/h",
      `FROM ${fx.busybox}`,
      "COPY --from=one /d /app",
      "COPY --from=one --chown=1:1 /d /owned",
      "RUN echo changed >> /app/f && chown 9:9 /app/g",
    ].join("\n");
    await fx.build(df, {}, { tags: ["linked:1"] });
    const layers = join(fx.work, "store", "build", "layers");
    const byName = async (path: string) => {
      const found = [];
      for (const d of await readdir(layers)) {
        const st = await lstat(join(layers, d, path)).catch(() => undefined);
        if (st) found.push(st);
      }
      return found;
    };
    // The stage's file and the copy's are one inode (linked); --chown copies.
    const [source] = await byName("d/g");
    const linked = await byName("app/g");
    assert.ok(source && linked.some((st) => st.ino === source.ino), "app/g is a link to the stage's d/g");
    assert.ok((await byName("owned/g")).every((st) => st.ino !== source.ino && st.uid === 1));
    // The final image has the changes; the stage's files are as it made them.
    const root = await rootfsOf("linked:1");
    assert.equal(await readFile(join(root, "app/f"), "utf8"), "original\nchanged\n");
    assert.equal((await lstat(join(root, "app/g"))).uid, 9);
    assert.equal((await lstat(join(root, "app/h"))).uid, 7);
    assert.equal((await lstat(join(root, "owned/h"))).uid, 1);
    const stage = await fx.build(df, {}, { target: "one", tags: ["linked:one"] });
    assert.equal(cachedSteps(stage.events), 1);
    const one = await rootfsOf("linked:one");
    assert.equal(await readFile(join(one, "d/f"), "utf8"), "original\n");
    assert.equal((await lstat(join(one, "d/g"))).uid, 0);
    for (const st of await byName("d/g")) assert.equal(st.uid, 0);
  });

  it("honours .dockerignore: excluded files are not copied and cannot be named", async () => {
    const files = {
      ".dockerignore": "*.secret\nlogs\n!logs/keep.log\n",
      "app.txt": "app",
      "key.secret": "s",
      "logs/a.log": "a",
      "logs/keep.log": "k",
    };
    await fx.build(`FROM ${fx.busybox}\nCOPY . /ctx/\n`, files, { tags: ["ignored:1"] });
    const root = await rootfsOf("ignored:1");
    assert.equal(await readFile(join(root, "ctx/app.txt"), "utf8"), "app");
    assert.equal(await readFile(join(root, "ctx/logs/keep.log"), "utf8"), "k");
    await assert.rejects(lstat(join(root, "ctx/key.secret")));
    await assert.rejects(lstat(join(root, "ctx/logs/a.log")));
    await assert.rejects(
      fx.build(`FROM ${fx.busybox}\nCOPY key.secret /\n`, files),
      (e: unknown) =>
        e instanceof BuildError && e.code === "CONTEXT_PATH" && /excluded by \.dockerignore/.test(e.message),
    );
  });

  it("RUN --mount=type=bind shows the context as .dockerignore leaves it, and is keyed by its files", async () => {
    const files = {
      ".dockerignore": "*.secret\nsub/skip\n",
      "keep.txt": "one",
      "key.secret": "s",
      "sub/skip": "x",
      "sub/ok": "y",
    };
    const df = `FROM ${fx.busybox}\nRUN --mount=type=bind,target=/ctx find /ctx | sort > /seen && cat /ctx/keep.txt > /kept\n`;
    const first = await fx.build(df, files, { tags: ["bound:1"] });
    let root = await rootfsOf("bound:1");
    assert.equal(
      await readFile(join(root, "seen"), "utf8"),
      "/ctx\n/ctx/.dockerignore\n/ctx/keep.txt\n/ctx/sub\n/ctx/sub/ok\n",
    );
    // An ignored file changes: still a hit. A bound file changes: the step runs again.
    await writeFile(join(first.context, "key.secret"), "changed");
    assert.equal(cachedSteps((await fx.rebuild(first.context, df, { tags: ["bound:1"] })).events), 1);
    await writeFile(join(first.context, "keep.txt"), "two");
    assert.equal(cachedSteps((await fx.rebuild(first.context, df, { tags: ["bound:1"] })).events), 0);
    root = await rootfsOf("bound:1");
    assert.equal(await readFile(join(root, "kept"), "utf8"), "two");
  });

  it("builds independent stages in parallel: each waits for the other's mark", async () => {
    // Two stages share a cache mount; each marks it, then waits (bounded) for the other's mark.
    // Built one after the other, the first would wait in vain and fail.
    const id = `sync-${Math.random().toString(16).slice(2)}`;
    const waitFor = (mine: string, other: string) =>
      `RUN --mount=type=cache,id=${id},target=/s touch /s/${mine} && i=0 && while [ ! -e /s/${other} ]; do sleep 0.1; i=$((i+1)); [ $i -lt 600 ] || exit 7; done && echo ${mine} > /${mine}`;
    const df = [
      `FROM ${fx.busybox} AS a`,
      waitFor("a", "b"),
      `FROM ${fx.busybox} AS b`,
      waitFor("b", "a"),
      `FROM ${fx.busybox}`,
      "COPY --from=a /a /a",
      "COPY --from=b /b /b",
    ].join("\n");
    const r = await fx.build(df, {}, { tags: ["parallel:1"], noCache: true });
    const root = await rootfsOf("parallel:1");
    assert.equal(await readFile(join(root, "a"), "utf8"), "a\n");
    assert.equal(await readFile(join(root, "b"), "utf8"), "b\n");
    // Both stages were announced before either finished.
    const steps = r.events.flatMap((e) => (e.kind === "step" && e.text.startsWith("RUN") ? [e.id] : []));
    const firstDone = r.events.findIndex((e) => e.kind === "done" && steps.includes(e.id));
    assert.equal(
      r.events.slice(0, firstDone).filter((e) => e.kind === "step" && steps.includes(e.id)).length,
      2,
    );
  });

  it("never reads outside the context through .. or a symlink", async () => {
    const files = { link: { symlink: "/etc/passwd" }, dirlink: { symlink: "../../../../etc" } };
    for (const src of ["../../../../../etc/passwd", "link", "dirlink/passwd"]) {
      await assert.rejects(
        fx.build(`FROM ${fx.busybox}\nCOPY ${src} /x\n`, files),
        (e: unknown) => e instanceof BuildError && e.code === "CONTEXT_PATH",
        src,
      );
    }
  });

  it("stops at a failing RUN with the file, line and exit code, naming nothing", async () => {
    await assert.rejects(
      fx.build(`FROM ${fx.busybox}\n\nRUN echo before && exit 3\n`, {}, { tags: ["failed:1"] }),
      (e: unknown) =>
        e instanceof BuildError && e.code === "RUN_FAILED" && /Dockerfile:3: .*exit code 3/.test(e.message),
    );
    await assert.rejects(fx.store.resolveImage("failed:1"));
  });

  it("builds only what --target needs; RUN mounts: cache persists, tmpfs, secret, network none", async () => {
    const secret = join(fx.work, "token");
    await writeFile(secret, "s3cret");
    const df = [
      `FROM ${fx.busybox} AS base`,
      "RUN --mount=type=cache,target=/cache echo x >> /cache/log && wc -l < /cache/log > /count",
      "RUN --mount=type=tmpfs,target=/scratch touch /scratch/f && grep -q ' /scratch tmpfs' /proc/mounts",
      "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen",
      "RUN --network=none ls /sys/class/net > /nets",
      "FROM base AS broken",
      "RUN exit 1",
    ].join("\n");
    const opts = { target: "base", tags: ["mounts:1"], noCache: true, secrets: new Map([["tok", secret]]) };
    await fx.build(df, {}, opts);
    await fx.build(df, {}, opts);
    const root = await rootfsOf("mounts:1");
    assert.equal((await readFile(join(root, "count"), "utf8")).trim(), "2");
    assert.equal(await readFile(join(root, "seen"), "utf8"), "s3cret");
    assert.equal((await readFile(join(root, "nets"), "utf8")).trim(), "lo");
    // Mount points the step did not have stay out of its layer.
    for (const p of ["cache", "scratch", "run/secrets"]) await assert.rejects(lstat(join(root, p)), p);
  });

  it("confines RUN as Docker confines a container: 14 capabilities, default seccomp, no no_new_privs", async () => {
    const status = "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status";
    const df = [
      `FROM ${fx.busybox}`,
      `RUN ${status} > /root.txt && grep -c ' /proc/keys ' /proc/self/mounts > /masked.txt`,
      "USER 1000",
      `RUN ${status} > /tmp/user.txt`,
    ].join("\n");
    await fx.build(df, {}, { tags: ["confined:1"], noCache: true });
    const root = await rootfsOf("confined:1");
    const fields = async (p: string) =>
      Object.fromEntries(
        (await readFile(join(root, p), "utf8"))
          .trim()
          .split("\n")
          .map((l) => l.split(/:\s*/) as [string, string]),
      );
    // Docker's default CapEff (CHOWN … AUDIT_WRITE), as `docker run` and BuildKit's RUN show it.
    assert.deepEqual(await fields("root.txt"), {
      CapEff: "00000000a80425fb",
      CapBnd: "00000000a80425fb",
      Seccomp: "2",
      NoNewPrivs: "0",
    });
    assert.deepEqual(await fields("tmp/user.txt"), {
      CapEff: "0000000000000000",
      CapBnd: "00000000a80425fb",
      Seccomp: "2",
      NoNewPrivs: "0",
    });
    assert.equal(await readFile(join(root, "masked.txt"), "utf8"), "1\n");
  });

  it("takes a relative build root and context (pier --root DIR with a relative DIR)", async () => {
    const r = await fx.build(`FROM ${fx.busybox}\nRUN echo ok > /ok\n`, {}, { noCache: true });
    const again = await fx.rebuild(
      relative(process.cwd(), r.context),
      `FROM ${fx.busybox}\nRUN echo ok > /ok\n`,
      {
        noCache: true,
        buildRoot: relative(process.cwd(), join(fx.work, "store", "build")),
      },
    );
    assert.match(again.id, /^sha256:/);
  });

  it("is reproducible with SOURCE_DATE_EPOCH: the same inputs give the same digest", async () => {
    const df = `FROM ${fx.busybox}\nCOPY f /f\nRUN echo x > /x\nENV K=v\n`;
    const a = await fx.build(df, { f: "data" }, { created: 1700000000, noCache: true });
    const b = await fx.build(df, { f: "data" }, { created: 1700000000, noCache: true });
    assert.equal(a.manifest.digest, b.manifest.digest);
    assert.equal(a.id, b.id);
  });
});
