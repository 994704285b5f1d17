import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseReference } from "../../oci/reference.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { RemoteError } from "../error.js";
import { loadRegistriesConfig } from "./config.js";
import { matchPrefix, pullEndpoints } from "./resolve.js";
import { resolveShortName } from "./short-names.js";

let tmp: string;
let n = 0;
before(async () => {
  tmp = await makeTempDir("pier-regconf-");
});
after(async () => {
  if (tmp) await removeTempDir(tmp);
});

async function load(text: string, dropIns: Record<string, string> = {}) {
  const file = join(tmp, `r${++n}.conf`);
  await writeFile(file, text);
  const dir = join(tmp, `d${n}`);
  await mkdir(dir);
  for (const [name, t] of Object.entries(dropIns)) await writeFile(join(dir, name), t);
  return loadRegistriesConfig({ file, dirs: [dir] });
}

const where = (cfg: Awaited<ReturnType<typeof load>>, ref: string) =>
  pullEndpoints(cfg, parseReference(ref)).map((e) => `${e.ref.toString()}${e.insecure ? " (insecure)" : ""}`);

test("prefix matching as containers/image: separators, longest wins, wildcard subdomains", () => {
  assert.equal(matchPrefix("example.com/foo/bar:1", "example.com/foo"), "example.com/foo".length);
  assert.equal(matchPrefix("example.com/foobar:1", "example.com/foo"), -1);
  assert.equal(matchPrefix("a.b.example.com/x:1", "*.example.com"), "a.b.example.com".length);
  assert.equal(matchPrefix("example.com/x:1", "*.example.com"), -1);
  assert.equal(matchPrefix("evil.com/a.example.com/x", "*.example.com"), -1);
});

test("the man page's example resolves as it says; location rewrites, mirrors first", async () => {
  const cfg = await load(
    `unqualified-search-registries = ["example.com"]
[[registry]]
prefix = "example.com/foo"
location = "internal-registry-for-example.net/bar"
[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
[[registry]]
location = "registry.com"
[[registry.mirror]]
location = "mirror.registry.com"
`,
  );
  assert.deepEqual(where(cfg, "example.com/foo/image:latest"), [
    "example-mirror-0.local/mirror-for-foo/image:latest",
    "example-mirror-1.local/mirrors/foo/image:latest (insecure)",
    "internal-registry-for-example.net/bar/image:latest",
  ]);
  assert.deepEqual(where(cfg, "registry.com/image:latest"), [
    "mirror.registry.com/image:latest",
    "registry.com/image:latest",
  ]);
  assert.deepEqual(where(cfg, "other.io/x:1"), ["other.io/x:1"]);
});

test("pull-from-mirror and mirror-by-digest-only choose mirrors by reference kind", async () => {
  const d = `sha256:${"a".repeat(64)}`;
  const cfg = await load(`[[registry]]
location = "r.io"
[[registry.mirror]]
location = "digest.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.local"
pull-from-mirror = "tag-only"
[[registry]]
location = "legacy.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local"
`);
  assert.deepEqual(where(cfg, "r.io/x:1"), ["tag.local/x:1", "r.io/x:1"]);
  assert.deepEqual(where(cfg, `r.io/x@${d}`), [`digest.local/x@${d}`, `r.io/x@${d}`]);
  assert.deepEqual(where(cfg, "legacy.io/x:1"), ["legacy.io/x:1"]);
  assert.deepEqual(where(cfg, `legacy.io/x@${d}`), [`m.local/x@${d}`, `legacy.io/x@${d}`]);
});

test("wildcard prefix without location applies settings without a rewrite", async () => {
  const cfg = await load(`[[registry]]
prefix = "*.corp.example"
insecure = true
[[registry.mirror]]
location = "cache.local"
`);
  assert.deepEqual(where(cfg, "reg.corp.example/app:1"), [
    "cache.local/app:1",
    "reg.corp.example/app:1 (insecure)",
  ]);
});

test("drop-ins replace a prefix's table and search list; aliases merge, an empty one erases", async () => {
  const cfg = await load(
    `unqualified-search-registries = ["a.io"]
[aliases]
"x" = "a.io/x"
"y" = "a.io/y"
[[registry]]
location = "a.io"
blocked = true
`,
    {
      "10-more.conf": `unqualified-search-registries = ["b.io", "c.io"]
short-name-mode = "enforcing"
[aliases]
"y" = ""
[[registry]]
location = "a.io"
`,
    },
  );
  assert.deepEqual(cfg.unqualifiedSearchRegistries, ["b.io", "c.io"]);
  assert.equal(cfg.shortNameMode, "enforcing");
  assert.deepEqual([...cfg.aliases], [["x", "a.io/x"]]);
  assert.deepEqual(where(cfg, "a.io/z:1"), ["a.io/z:1"]);
  assert.equal((await resolveShortName(cfg, "x:2")).candidates[0]?.toString(), "a.io/x:2");
  await assert.rejects(resolveShortName(cfg, "z"), /cannot prompt without a TTY/);
  // a terminal gets asked
  const picked = await resolveShortName(cfg, "z:1", async (_n, choices) => choices[1]!);
  assert.equal(picked.candidates[0]?.toString(), "c.io/z:1");
});

test("the v1 format's search, insecure and block lists apply", async () => {
  const cfg = await load(`[registries.search]
registries = ["s.io"]
[registries.insecure]
registries = ["i.io"]
[registries.block]
registries = ["b.io"]
`);
  assert.deepEqual(cfg.unqualifiedSearchRegistries, ["s.io"]);
  assert.deepEqual(where(cfg, "i.io/x:1"), ["i.io/x:1 (insecure)"]);
  assert.throws(() => where(cfg, "b.io/x:1"), /blocked/);
});

test("every key pier does not apply is refused, naming it and the file", async () => {
  const bad: [string, RegExp][] = [
    ['[[registry]]\nlocation = "a.io"\nmirrors = []\n', /unknown or unsupported key "mirrors"/],
    ['[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "m"\nweight = 1\n', /key "weight"/],
    ['short-name-mode = "strict"\n', /short-name-mode: enforcing, permissive or disabled/],
    ['credential-helpers = ["secretservice"]\n', /credential-helpers: .*"secretservice" is not applied/],
    ['[[registry]]\nprefix = "*.a.io/x"\n', /wildcarded prefix/],
    ['[[registry]]\nlocation = "https://a.io"\n', /a location has no scheme/],
    [
      '[[registry]]\nlocation = "a.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "tag-only"\n',
      /cannot be set when mirror-by-digest-only/,
    ],
    ['[aliases]\n"docker.io/x" = "docker.io/library/x"\n', /not a short name/],
    ['[aliases]\n"x" = "x"\n', /not fully qualified/],
    ['[[registry]]\nlocation = "a.io"\n[[registry]]\nlocation = "a.io"\n', /two \[\[registry\]\] tables/],
    ["unqualified-search-registries = [\n", /r\d+\.conf/],
  ];
  for (const [text, re] of bad) {
    await assert.rejects(
      load(text),
      (err: unknown) =>
        err instanceof RemoteError &&
        err.code === "INVALID_REGISTRIES_CONF" &&
        re.test(err.message) &&
        err.message.includes(tmp),
      text,
    );
  }
  assert.throws(() => loadRegistriesConfig({ file: join(tmp, "missing.conf") }), /no such file/);
});
