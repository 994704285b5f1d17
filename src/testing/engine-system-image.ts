/**
 * A Debian 12 system-container image for the engine's tests: `scripts/system-image.sh` (its
 * debootstrap tree is cached under /var/cache/pier/system-images, so a test run builds it once)
 * with busybox and a unit that serves a page on port 8080 once the guest is up.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeTempDir } from "./busybox.js";
import { runCommand } from "./engine.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/system-image.sh", import.meta.url));

/** What the guest's web unit serves at `/` (port 8080). */
export const GUEST_PAGE = "served by a unit of the guest's systemd\n";

/** Makes `tag` in the store at `root`: Debian bookworm, systemd as init, the web unit enabled. */
export async function buildSystemImage(root: string, tag: string): Promise<void> {
  const add = await makeTempDir("pier-system-add-");
  try {
    const units = join(add, "etc/systemd/system");
    mkdirSync(join(units, "multi-user.target.wants"), { recursive: true });
    writeFileSync(
      join(units, "guest-web.service"),
      "[Unit]\nDescription=a web page served by the guest\n\n[Service]\nExecStart=/bin/busybox httpd -f -p 8080 -h /srv\n\n[Install]\nWantedBy=multi-user.target\n",
    );
    symlinkSync("../guest-web.service", join(units, "multi-user.target.wants/guest-web.service"));
    mkdirSync(join(add, "srv"));
    writeFileSync(join(add, "srv/index.html"), GUEST_PAGE);
    const r = await runCommand(
      "bash",
      [SCRIPT, "--suite", "bookworm", "--include", "busybox", "--add", add, "--tag", tag, "--root", root],
      { timeout: 15 * 60_000 },
    );
    if (r.status !== 0) throw new Error(`scripts/system-image.sh failed (${r.status}): ${r.stderr}`);
  } finally {
    await removeTempDir(add);
  }
}
