/**
 * Test fixture for the registry's interop tests (not part of the library API): an OCI layout
 * with a three-layer image (`multi-layer`) and a two-platform index (`multi-arch`, linux/amd64
 * and linux/arm64 over different configs), for skopeo and podman to push.
 */
import { OciLayout } from "../content/layout.js";
import { LocalContentStore } from "../content/local-store.js";
import { MediaType } from "../oci/media-types.js";
import { writeTinyImage } from "./tiny-image.js";

/** Writes the fixture layout into `dir`; returns the digests of what it holds. */
export async function writeTestLayout(dir: string): Promise<{ image: string; index: string }> {
  const store = await LocalContentStore.open(dir);
  const layout = await OciLayout.open(dir);
  const image = await writeTinyImage(
    store,
    [{ "bin/a": "layer one\n" }, { "etc/b": "layer two\n" }, { "usr/c": "layer three\n".repeat(1000) }],
    { compression: "gzip" },
  );
  await layout.set("multi-layer", image.manifest);
  const amd = await writeTinyImage(store, [{ "arch.txt": "amd64\n" }], { compression: "gzip" });
  const arm = await writeTinyImage(store, [{ "arch.txt": "arm64\n" }], { compression: "gzip" });
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      { ...amd.manifest, platform: { os: "linux", architecture: "amd64" } },
      { ...arm.manifest, platform: { os: "linux", architecture: "arm64" } },
    ],
  };
  const info = await store.ingest(JSON.stringify(index));
  await layout.set("multi-arch", { mediaType: MediaType.OciIndex, ...info });
  return { image: image.manifest.digest, index: info.digest };
}
