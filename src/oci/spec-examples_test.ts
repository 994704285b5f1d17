/**
 * Conformance: every JSON example of image-spec 1.1.1 (config.md, descriptor.md, image-index.md,
 * image-layout.md, manifest.md), copied verbatim, passes the validator of its media type.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDescriptor, parseImageConfig, parseIndex, parseManifest, parseOciLayout } from "./validate.js";

const PARSERS = { parseDescriptor, parseImageConfig, parseIndex, parseManifest, parseOciLayout };

// [where in the spec, parser, the example]
const EXAMPLES: [string, keyof typeof PARSERS, string][] = [
  [
    "config.md #1 Image JSON",
    "parseImageConfig",
    '{"created":"2015-10-31T22:22:56.015925234Z","author":"Alyssa P. Hacker <alyspdev@example.com>","architecture":"amd64","os":"linux","config":{"User":"alice","ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","FOO=oci_is_a","BAR=well_written_spec"],"Entrypoint":["/bin/my-app-binary"],"Cmd":["--foreground","--config","/etc/my-app.d/default.cfg"],"Volumes":{"/var/job-result-data":{},"/var/log/my-app-logs":{}},"WorkingDir":"/home/alice","Labels":{"com.example.project.git.url":"https://example.com/project.git","com.example.project.git.commit":"45a939b2999782a3f005621a8d0f29aa387e1d6b"}},"rootfs":{"diff_ids":["sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1","sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"],"type":"layers"},"history":[{"created":"2015-10-31T22:22:54.690851953Z","created_by":"/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /"},{"created":"2015-10-31T22:22:55.613815829Z","created_by":"/bin/sh -c #(nop) CMD [\\"sh\\"]","empty_layer":true},{"created":"2015-10-31T22:22:56.329850019Z","created_by":"/bin/sh -c apk add curl"}]}',
  ],
  [
    "descriptor.md #1 Content Descriptor",
    "parseDescriptor",
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7682,"digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"}',
  ],
  [
    "descriptor.md #2 Content Descriptor",
    "parseDescriptor",
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7682,"digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","urls":["https://example.com/example-manifest"]}',
  ],
  [
    "descriptor.md #3 Content Descriptor",
    "parseDescriptor",
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":123,"digest":"sha256:87923725d74f4bfb94c9e86d64170f7521aad8221a5de834851470ca142da630","artifactType":"application/vnd.example.sbom.v1"}',
  ],
  [
    "image-index.md #1 Image Index",
    "parseIndex",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7143,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","platform":{"architecture":"ppc64le","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7682,"digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","platform":{"architecture":"amd64","os":"linux"}}],"annotations":{"com.example.key1":"value1","com.example.key2":"value2"}}',
  ],
  [
    "image-index.md #2 Image Index",
    "parseIndex",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7143,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","platform":{"architecture":"ppc64le","os":"linux"}},{"mediaType":"application/vnd.oci.image.index.v1+json","size":7682,"digest":"sha256:601570aaff1b68a61eb9c85b8beca1644e698003e0cdb5bce960f193d265a8b7"}],"annotations":{"com.example.key1":"value1","com.example.key2":"value2"}}',
  ],
  ["image-layout.md #1 OCI Layout", "parseOciLayout", '{"imageLayoutVersion":"1.0.0"}'],
  [
    "image-layout.md #2 Image Index",
    "parseIndex",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","size":7143,"digest":"sha256:0228f90e926ba6b96e4f39cf294b2586d38fbb5a1e385c05cd1ee40ea54fe7fd","annotations":{"org.opencontainers.image.ref.name":"stable-release"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7143,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","platform":{"architecture":"ppc64le","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"v1.0"}},{"mediaType":"application/xml","size":7143,"digest":"sha256:b3d63d132d21c3ff4c35a061adf23cf43da8ae054247e32faa95494d904a007e","annotations":{"org.freedesktop.specifications.metainfo.version":"1.0","org.freedesktop.specifications.metainfo.type":"AppStream"}}],"annotations":{"com.example.index.revision":"r124356"}}',
  ],
  [
    "manifest.md #1 Manifest",
    "parseManifest",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7","size":7023},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0","size":32654},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b","size":16724},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736","size":73109}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","size":7682},"annotations":{"com.example.key1":"value1","com.example.key2":"value2"}}',
  ],
  [
    "manifest.md #2 empty config",
    "parseDescriptor",
    '{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}',
  ],
  [
    "manifest.md #3 Minimal artifact",
    "parseManifest",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example+type","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],"annotations":{"oci.opencontainers.image.created":"2023-01-02T03:04:05Z","com.example.data":"payload"}}',
  ],
  [
    "manifest.md #4 Artifact without config",
    "parseManifest",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example+type","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.example+type","digest":"sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317","size":1234}]}',
  ],
  [
    "manifest.md #5 Artifact with config",
    "parseManifest",
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example+type","config":{"mediaType":"application/vnd.example.config.v1+json","digest":"sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","size":123},"layers":[{"mediaType":"application/vnd.example.data.v1.tar+gzip","digest":"sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317","size":1234}]}',
  ],
];

describe("image-spec examples", () => {
  for (const [where, parser, json] of EXAMPLES) {
    it(where, () => assert.deepEqual(PARSERS[parser](json), JSON.parse(json)));
  }
});
