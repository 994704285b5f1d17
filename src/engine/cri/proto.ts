/**
 * The CRI's protocol (`runtime.v1`, Kubernetes 1.32's `api.proto`, kept verbatim in `proto/`):
 * loaded once with `@grpc/proto-loader` (protobufjs underneath), which encodes and decodes the
 * messages. Decoding keeps the proto's field names (`pod_sandbox_id`), leaves unset fields out
 * (so a field a client set is told from one it did not), gives enums by name and 64-bit
 * integers as decimal strings.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";

/** Where `api.proto` is: beside this file in the sources, found from `dist/` by walking up. */
export function criProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, "proto"), join(dir, "src", "engine", "cri", "proto")])
      if (existsSync(join(candidate, "api.proto"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error("cannot find the CRI's api.proto (src/engine/cri/proto/api.proto)");
}

let loaded: PackageDefinition | undefined;

/** The package definition of `runtime.v1` (loaded at the first call). */
export function criPackage(): PackageDefinition {
  if (loaded) return loaded;
  const dir = criProtoDir();
  loaded = loadSync(join(dir, "api.proto"), {
    includeDirs: [dir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    arrays: false,
    oneofs: false,
  });
  return loaded;
}

/** The two services of the CRI, as grpc-js serves (and its clients call) them. */
export function criServices(): { runtime: ServiceDefinition; image: ServiceDefinition } {
  const pkg = criPackage();
  return {
    runtime: pkg["runtime.v1.RuntimeService"] as ServiceDefinition,
    image: pkg["runtime.v1.ImageService"] as ServiceDefinition,
  };
}

/** grpc-js's object tree of the package (client constructors for tests and tools). */
export function criGrpcObject(): ReturnType<typeof loadPackageDefinition> {
  return loadPackageDefinition(criPackage());
}
