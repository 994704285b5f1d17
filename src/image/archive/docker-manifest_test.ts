import assert from "node:assert/strict";
import { test } from "node:test";
import { isPierError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import { dockerArchiveFiles, parseDockerArchiveManifest } from "./docker-manifest.js";

test("manifest.json is parsed and every malformed field named", () => {
  const ok = parseDockerArchiveManifest(
    '[{"Config":"c.json","RepoTags":["a:1"],"Layers":["l/layer.tar"]},{"Config":"d.json","Layers":[]}]',
  );
  assert.deepEqual(ok[1], { Config: "d.json", RepoTags: null, Layers: [] });
  const cases: [string, RegExp][] = [
    ["nope", /not valid JSON/],
    ["{}", /must be a JSON array/],
    ["[1]", /\[0\] must be an object/],
    ['[{"Layers":[]}]', /\[0\]\.Config/],
    ['[{"Config":"c","Layers":[1]}]', /\[0\]\.Layers/],
    ['[{"Config":"c","Layers":[],"RepoTags":"a"}]', /\[0\]\.RepoTags/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseDockerArchiveManifest(text),
      (e: unknown) => isPierError(e, "INVALID_ARCHIVE") && pattern.test((e as Error).message),
      text,
    );
  }
});

test("dockerArchiveFiles writes docker's legacy naming and repositories", () => {
  const config = digestOf("config");
  const l1 = digestOf("l1");
  const l2 = digestOf("l2");
  const files = dockerArchiveFiles([
    { configDigest: config, diffIds: [l1, l2], repoTags: ["localhost:5000/app:1", "localhost:5000/app:2"] },
    { configDigest: config, diffIds: [l1], repoTags: [] },
  ]);
  assert.deepEqual(JSON.parse(files.manifest), [
    {
      Config: `${config.slice(7)}.json`,
      RepoTags: ["localhost:5000/app:1", "localhost:5000/app:2"],
      Layers: [`${l1.slice(7)}.tar`, `${l2.slice(7)}.tar`],
    },
    { Config: `${config.slice(7)}.json`, RepoTags: null, Layers: [`${l1.slice(7)}.tar`] },
  ]);
  assert.deepEqual(JSON.parse(files.repositories), {
    "localhost:5000/app": { "1": l2.slice(7), "2": l2.slice(7) },
  });
});
