import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BuildFixture, buildFixture, cachedSteps } from "../testing/build.js";
import { type DistributionRegistry, startDistribution } from "../testing/registry.js";
import type { BuildEvent } from "./builder.js";
import { BuildError } from "./error.js";
import { parseCacheSpec } from "./registry-cache.js";

// Two fixtures: two stores and build roots, as two machines (their caches share nothing).
let a: BuildFixture;
let b: BuildFixture;
let distribution: DistributionRegistry;
before(async () => {
  a = await buildFixture();
  b = await buildFixture();
  distribution = await startDistribution();
});
after(async () => {
  await a?.close();
  await b?.close();
  await distribution?.stop();
});

const remote = { insecure: true };

function warnings(events: readonly BuildEvent[]): string[] {
  return events.flatMap((e) => (e.kind === "warning" ? [e.message] : []));
}

/** A two-stage Dockerfile over `base`: a builder stage and a final stage copying from it. */
const dockerfile = (base: string) =>
  [
    `FROM ${base} AS build`,
    "COPY src.txt /src.txt",
    "RUN cat /src.txt > /built && echo ran-build",
    `FROM ${base}`,
    "WORKDIR /app",
    "COPY --from=build /built /app/built",
    "RUN echo ran-final > /app/final",
  ].join("\n");

describe("--cache-to / --cache-from a registry", () => {
  it("parses buildx's syntax and refuses other cache types and options by name", () => {
    assert.deepEqual(parseCacheSpec("type=registry,ref=r.example/c:1,mode=max", "--cache-to"), {
      ref: "r.example/c:1",
      mode: "max",
    });
    assert.deepEqual(parseCacheSpec("r.example/c", "--cache-from"), {
      ref: "r.example/c:latest",
      mode: "min",
    });
    for (const [v, re] of [
      ["type=local,dest=x", /type=local/],
      ["type=registry,ref=r/c,compression=zstd", /option compression/],
      ["type=registry", /ref= is required/],
      ["type=registry,ref=r/c,mode=all", /mode=all/],
    ] as const)
      assert.throws(
        () => parseCacheSpec(v, "--cache-to"),
        (e: unknown) => e instanceof BuildError && re.test(e.message),
        v,
      );
    assert.throws(() => parseCacheSpec("type=registry,ref=r/c,mode=max", "--cache-from"), /option mode/);
  });

  for (const which of ["pier's registry", "Debian's docker-registry"] as const) {
    it(`a clean machine's build hits every step from ${which}, with the same image`, async () => {
      const host = which === "pier's registry" ? new URL(a.registry.registry.url).host : distribution.host;
      const tag = which === "pier's registry" ? "pier" : "distribution";
      const ref = `${host}/cache/app:${tag}`;
      const files = { "src.txt": `source for ${tag}` };
      // Machine A: a cold build, its cache exported with mode=max (both stages).
      const first = await a.build(dockerfile(a.busybox), files, {
        created: 1700000000,
        noCache: true,
        cacheTo: { ref, mode: "max" },
        remote,
      });
      assert.equal(cachedSteps(first.events), 0);
      assert.match(first.output, /ran-build/);
      // Machine B (an empty cache, the same base image): every file step hits, nothing runs.
      const second = await b.build(dockerfile(a.busybox), files, {
        created: 1700000000,
        cacheFrom: [{ ref, mode: "min" }],
        remote,
      });
      assert.deepEqual(warnings(second.events), []);
      assert.equal(cachedSteps(second.events), 5);
      assert.equal(second.output, "");
      assert.equal(second.manifest.digest, first.manifest.digest);
      // A changed source misses from there on, and the steps it does not touch still hit.
      const third = await b.build(
        dockerfile(a.busybox),
        { "src.txt": `changed for ${tag}` },
        {
          created: 1700000000,
          cacheFrom: [{ ref, mode: "min" }],
          remote,
        },
      );
      assert.match(third.output, /ran-build/);
      assert.equal(cachedSteps(third.events), 1, "the final stage's WORKDIR");
    });
  }

  it("mode=min exports the target's stage chain only; a missing cache is a warning", async () => {
    const host = new URL(a.registry.registry.url).host;
    const ref = `${host}/cache/min:1`;
    const files = { "src.txt": "min" };
    await a.build(dockerfile(a.busybox), files, { cacheTo: { ref, mode: "min" }, remote, noCache: true });
    const r = await b.build(dockerfile(a.busybox), files, {
      cacheFrom: [
        { ref: `${host}/cache/none:1`, mode: "min" },
        { ref, mode: "min" },
      ],
      remote,
    });
    assert.deepEqual(warnings(r.events), [`--cache-from ${host}/cache/none:1: no cache there yet`]);
    // The build stage was not exported: it ran. The final stage's three steps hit (its COPY
    // --from is keyed by the build stage's key, content-addressed, the same on both machines).
    assert.match(r.output, /ran-build/);
    assert.equal(cachedSteps(r.events), 3);
  });
});
