import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaType } from "../oci/media-types.js";
import { acceptedTypes, negotiate } from "./negotiate.js";

test("acceptedTypes reads every listed type from one or several headers", () => {
  assert.deepEqual(
    [...acceptedTypes([`${MediaType.OciManifest}; q=0.5, ${MediaType.DockerManifest}`, "*/*"])],
    [MediaType.OciManifest, MediaType.DockerManifest, "*/*"],
  );
  assert.deepEqual([...acceptedTypes(undefined)], []);
});

test("negotiate serves the stored type, an index's image, or nothing", () => {
  assert.deepEqual(negotiate(undefined, MediaType.OciIndex), { kind: "stored" });
  assert.deepEqual(negotiate("*/*", MediaType.OciManifest), { kind: "stored" });
  assert.deepEqual(
    negotiate(`${MediaType.DockerManifest}, ${MediaType.OciManifest}`, MediaType.OciManifest),
    {
      kind: "stored",
    },
  );
  assert.deepEqual(
    negotiate([MediaType.DockerManifest, MediaType.DockerManifestList], MediaType.DockerManifestList),
    {
      kind: "stored",
    },
  );
  assert.deepEqual(negotiate(MediaType.DockerManifest, MediaType.DockerManifestList), {
    kind: "child",
    accepted: new Set([MediaType.DockerManifest]),
  });
  assert.deepEqual(negotiate(MediaType.DockerManifest, MediaType.OciManifest), { kind: "unacceptable" });
  assert.deepEqual(negotiate(MediaType.DockerManifestList, MediaType.OciIndex), { kind: "unacceptable" });
});
