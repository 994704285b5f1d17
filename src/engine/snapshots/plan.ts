/**
 * Pure decisions of the snapshotter: chain ids of a layer stack and the overlayfs mount options
 * of a container rootfs. No I/O, unit-tested.
 */
import { type Digest, digestHex, digestOf } from "../../oci/digest.js";

/**
 * The image-spec chain ids of a stack of layers, bottom first: `chain(L0) = diffId(L0)`,
 * `chain(Ln) = sha256(chain(Ln-1) + " " + diffId(Ln))`. A chain id names a layer together with
 * everything under it, so two images that share a base share its snapshots.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : digestOf(`${prev} ${d}`));
  }
  return out;
}

/** Directory name of a committed snapshot (the chain id's hex, which is path-safe). */
export function snapshotDirName(chainId: Digest): string {
  const hex = digestHex(chainId);
  if (!/^[a-f0-9]{32,128}$/.test(hex)) throw new Error(`invalid chain id ${chainId}`);
  return hex;
}

/**
 * The `-o` data of an overlay mount: `lowerDirs` are given bottom first (as layers are) and
 * listed top first (as overlayfs reads them). Paths with `,` or `:` are refused: overlayfs has no
 * escaping for them in this syntax. `volatile` adds overlayfs's `volatile` option (Linux 5.10):
 * no sync of the upper filesystem, at the unmount either (see `Snapshotter.prepare`).
 */
export function overlayOptions(
  lowerDirs: readonly string[],
  upper: string,
  work: string,
  opts: { volatile?: boolean } = {},
): string {
  if (lowerDirs.length === 0) throw new Error("an overlay needs at least one lower directory");
  for (const p of [...lowerDirs, upper, work]) {
    if (/[,:]/.test(p)) throw new Error(`overlay path ${p} contains ',' or ':'`);
  }
  const lower = [...lowerDirs].reverse().join(":");
  return `lowerdir=${lower},upperdir=${upper},workdir=${work},index=off${opts.volatile ? ",volatile" : ""}`;
}
