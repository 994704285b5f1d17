/**
 * The image of CRI pod sandboxes: one layer holding pier's static `pier-pause`
 * (`native/pier-pause.c`), made in pierd's image store the first time a pod needs it, so
 * sandboxes need no registry (containerd pulls `registry.k8s.io/pause` instead).
 */
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PIER_VERSION } from "../../common/version.js";
import { createImage } from "../../image/build.js";
import { ensureMonitor } from "../containers/monitor.js";
import type { ImageService } from "../images.js";
import { CriError } from "./error.js";

/** The sandbox image's name in the store. */
export const PAUSE_IMAGE = `localhost/pier/pause:${PIER_VERSION}`;

/** The built `pier-pause` (beside the monitor that native/build.sh makes with it). */
function pauseBinary(): string {
  const bin = join(dirname(ensureMonitor()), "pier-pause");
  if (!existsSync(bin))
    throw new CriError(
      "FAILED_PRECONDITION",
      `${bin} is missing: run native/build.sh (it needs libc's static archive)`,
    );
  return bin;
}

let making: Promise<string> | undefined;

/** Makes {@link PAUSE_IMAGE} in `images`' store unless it is there; resolves with its name. */
export function ensurePauseImage(images: ImageService): Promise<string> {
  making ??= (async () => {
    try {
      await images.resolve(PAUSE_IMAGE);
      return PAUSE_IMAGE;
    } catch {}
    const dir = await mkdtemp(join(tmpdir(), "pier-pause-"));
    try {
      await copyFile(pauseBinary(), join(dir, "pause"));
      await chmod(join(dir, "pause"), 0o755);
      await createImage(images.store, dir, PAUSE_IMAGE, { entrypoint: ["/pause"], created: 0 });
      return PAUSE_IMAGE;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })().finally(() => {
    making = undefined;
  });
  return making;
}
