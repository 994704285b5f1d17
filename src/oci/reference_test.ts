import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OciError } from "./error.js";
import {
  isValidRepositoryName,
  isValidTag,
  parseReference,
  registryApiHost,
  tryParseReference,
} from "./reference.js";

const H = "f".repeat(64);
const H512 = "f".repeat(128);

describe("parseReference normalises as docker does", () => {
  // [input, fully qualified, familiar]; cases reconstructed from distribution/reference tests.
  const table: [string, string, string][] = [
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["library/debian", "docker.io/library/debian:latest", "debian:latest"],
    ["docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest"],
    ["docker.io/debian", "docker.io/library/debian:latest", "debian:latest"],
    ["docker.io/library/debian:12", "docker.io/library/debian:12", "debian:12"],
    ["index.docker.io/docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest"],
    ["index.docker.io/debian", "docker.io/library/debian:latest", "debian:latest"],
    ["docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"],
    [
      "127.0.0.1:5000/docker/docker",
      "127.0.0.1:5000/docker/docker:latest",
      "127.0.0.1:5000/docker/docker:latest",
    ],
    ["127.0.0.1:5000/debian", "127.0.0.1:5000/debian:latest", "127.0.0.1:5000/debian:latest"],
    ["192.168.0.1", "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest"],
    ["192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80"],
    ["192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8/debian:latest"],
    ["localhost", "docker.io/library/localhost:latest", "localhost:latest"],
    ["localhost/x", "localhost/x:latest", "localhost/x:latest"],
    ["localhost:5000/ns/repo:v1", "localhost:5000/ns/repo:v1", "localhost:5000/ns/repo:v1"],
    ["test_com", "docker.io/library/test_com:latest", "test_com:latest"],
    ["test.com:tag", "docker.io/library/test.com:tag", "test.com:tag"],
    ["test.com:5000", "docker.io/library/test.com:5000", "test.com:5000"],
    ["test.com/repo:tag", "test.com/repo:tag", "test.com/repo:tag"],
    ["test:5000/repo", "test:5000/repo:latest", "test:5000/repo:latest"],
    [`test:5000/repo@sha256:${H}`, `test:5000/repo@sha256:${H}`, `test:5000/repo@sha256:${H}`],
    [`test:5000/repo:tag@sha256:${H}`, `test:5000/repo:tag@sha256:${H}`, `test:5000/repo:tag@sha256:${H}`],
    [`repo@sha256:${H}`, `docker.io/library/repo@sha256:${H}`, `repo@sha256:${H}`],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${H512}`,
      `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${H512}`,
      `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${H512}`,
    ],
    ["foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"],
    ["foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"],
    ["[2001:db8::1]/repo", "[2001:db8::1]/repo:latest", "[2001:db8::1]/repo:latest"],
    ["[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag"],
    ["[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest", "[2001:db8::1]:5000/repo:latest"],
    [
      "[fc00::1]:5000/docker/docker",
      "[fc00::1]:5000/docker/docker:latest",
      "[fc00::1]:5000/docker/docker:latest",
    ],
    ["Foo/bar", "Foo/bar:latest", "Foo/bar:latest"],
    ["a__b/c---d/e.f:Tag_1.x-y", "docker.io/a__b/c---d/e.f:Tag_1.x-y", "a__b/c---d/e.f:Tag_1.x-y"],
    [`${"a/".repeat(100)}a:tag`, `docker.io/${"a/".repeat(100)}a:tag`, `${"a/".repeat(100)}a:tag`],
  ];
  for (const [input, full, familiar] of table) {
    it(input.length > 60 ? `${input.slice(0, 60)}…` : input, () => {
      const ref = parseReference(input);
      assert.equal(ref.toString(), full);
      assert.equal(ref.familiar(), familiar);
      assert.equal(parseReference(full).toString(), full, "normalising is idempotent");
    });
  }

  it("splits registry, repository, tag and digest", () => {
    const ref = parseReference(`host:5000/ns/repo:tag@sha256:${H}`);
    assert.deepEqual(
      [ref.registry, ref.repository, ref.tag, ref.digest, ref.name, ref.identifier],
      ["host:5000", "ns/repo", "tag", `sha256:${H}`, "host:5000/ns/repo", `sha256:${H}`],
    );
  });

  it("adds no tag when asked not to", () => {
    const ref = parseReference("busybox", { defaultTag: false });
    assert.equal(ref.tag, undefined);
    assert.equal(ref.toString(), "docker.io/library/busybox");
    assert.equal(ref.identifier, "latest");
  });

  it("withTag and withDigest derive new references", () => {
    const ref = parseReference("busybox:1");
    assert.equal(ref.withTag("2").toString(), "docker.io/library/busybox:2");
    assert.equal(ref.withDigest(`sha256:${H}`).familiar(), `busybox:1@sha256:${H}`);
    assert.throws(() => ref.withTag("-bad"), /tag "-bad"/);
    assert.throws(() => ref.withDigest("sha256:1"), /INVALID|digest/);
    assert.equal(JSON.stringify({ r: ref }), '{"r":"docker.io/library/busybox:1"}');
  });
});

describe("parseReference refuses", () => {
  // [input, fragment of the message naming the bad part]
  const table: [string, string][] = [
    ["", "at least one component"],
    ["https://github.com/docker/docker", 'registry "https:"'],
    ["docker/Docker", 'repository name "docker/Docker" must be lowercase'],
    ["Uppercase:tag", 'repository name "library/Uppercase" must be lowercase'],
    ["docker.io/docker/Docker", "must be lowercase"],
    ["-docker", 'repository name "library/-docker"'],
    ["-docker/docker", 'repository name "-docker/docker"'],
    ["-docker.io/docker/docker", 'registry "-docker.io"'],
    ["docker///docker", 'repository name "docker///docker"'],
    ["docker.io/docker///docker", 'repository name "docker///docker"'],
    ["[fc00::1]", 'tag "1]"'],
    ["[fc00::1]:5000", 'repository name "library/[fc00::1]"'],
    ["fc00::1:5000/foo", 'registry "fc00::1:5000"'],
    ["[fc00::1%eth0]:5000/foo", 'registry "[fc00::1%eth0]:5000"'],
    ["[2001:db8::1]:tag", "repository name"],
    [H, "64-byte hexadecimal"],
    [":justtag", "at least one component"],
    [`@sha256:${H}`, "at least one component"],
    ["localhost:5000/", "at least one component"],
    ["validname@invaliddigest:ffff", "digest: "],
    ["repo@sha256:abc", "digest: sha256 digest must be 64"],
    ["repo:-tag", 'tag "-tag"'],
    [`repo:${"a".repeat(129)}`, "tag"],
    ["repo:t@g", "digest"],
    ["aa/asdf$$^/aa", 'repository name "aa/asdf$$^/aa"'],
    [`host.io/${"a".repeat(250)}`, "must not be more than 255 characters"],
    ["a//b", "repository name"],
    ["repo/", "at least one component"],
    ["re po", "repository name"],
  ];
  for (const [input, fragment] of table) {
    it(JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input), () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) =>
          err instanceof OciError &&
          err.code === "INVALID_REFERENCE" &&
          err.message.includes(fragment) &&
          err.message.startsWith(`invalid reference ${JSON.stringify(input)}`),
      );
      assert.equal(tryParseReference(input), undefined);
    });
  }
});

describe("helpers", () => {
  it("registryApiHost maps docker.io to registry-1.docker.io only", () => {
    assert.equal(registryApiHost("docker.io"), "registry-1.docker.io");
    assert.equal(registryApiHost("index.docker.io"), "registry-1.docker.io");
    assert.equal(registryApiHost("localhost:5000"), "localhost:5000");
    assert.equal(registryApiHost("ghcr.io"), "ghcr.io");
  });
  it("isValidRepositoryName follows the distribution-spec grammar", () => {
    for (const ok of ["a", "library/busybox", "a-b__c.d/e", "a---b"])
      assert.equal(isValidRepositoryName(ok), true, ok);
    for (const bad of ["", "A", "a/", "/a", "a//b", "a_", "a___b", "../x", "a".repeat(256)]) {
      assert.equal(isValidRepositoryName(bad), false, bad);
    }
  });
  it("isValidTag follows the tag grammar", () => {
    for (const ok of ["latest", "_x", "1.0-rc.1", "A".repeat(128)]) assert.equal(isValidTag(ok), true, ok);
    for (const bad of ["", ".x", "-x", "a/b", "a:b", "A".repeat(129)])
      assert.equal(isValidTag(bad), false, bad);
  });
});
