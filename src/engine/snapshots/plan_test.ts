import assert from "node:assert/strict";
import { test } from "node:test";
import { digestOf } from "../../oci/digest.js";
import { chainIds, overlayOptions, snapshotDirName } from "./plan.js";

test("chain ids follow the image-spec definition", () => {
  const a = digestOf("a");
  const b = digestOf("b");
  const c = digestOf("c");
  const ids = chainIds([a, b, c]);
  assert.equal(ids[0], a);
  assert.equal(ids[1], digestOf(`${a} ${b}`));
  assert.equal(ids[2], digestOf(`${ids[1]} ${c}`));
  assert.deepEqual(chainIds([]), []);
});

test("snapshot dir names are the hex only and refuse junk", () => {
  const a = digestOf("a");
  assert.equal(snapshotDirName(a), a.slice(7));
  assert.throws(() => snapshotDirName("sha256:../../etc" as `${string}:${string}`));
});

test("overlay options list lower dirs top first", () => {
  assert.equal(
    overlayOptions(["/s/1/fs", "/s/2/fs"], "/c/upper", "/c/work"),
    "lowerdir=/s/2/fs:/s/1/fs,upperdir=/c/upper,workdir=/c/work,index=off",
  );
  assert.equal(
    overlayOptions(["/s/1/fs"], "/c/upper", "/c/work", { volatile: true }),
    "lowerdir=/s/1/fs,upperdir=/c/upper,workdir=/c/work,index=off,volatile",
  );
  assert.throws(() => overlayOptions([], "/u", "/w"), /at least one/);
  assert.throws(() => overlayOptions(["/a:b"], "/u", "/w"), /contains/);
});
