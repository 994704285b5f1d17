import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import {
  errorCode,
  pushBlob,
  pushImage,
  putManifest,
  rawExchange,
  startTestRegistry,
  type TestRegistry,
} from "../testing/registry.js";

let t: TestRegistry;
let url: string;
before(async () => {
  t = await startTestRegistry((c) => {
    c.storage.maxManifestBytes = 64 * 1024;
  });
  url = t.url;
});
after(() => t.stop());

const missing = `sha256:${"0".repeat(64)}`;

test("GET /v2/ answers 200 with the API version header", async () => {
  const res = await fetch(`${url}/v2/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  assert.ok(res.headers.get("x-request-id"));
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test("monolithic upload, HEAD, GET, ranges, and repository isolation", async () => {
  const data = Buffer.from("0123456789");
  const digest = await pushBlob(url, "mono/a", data);
  const head = await fetch(`${url}/v2/mono/a/blobs/${digest}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "10");
  assert.equal(head.headers.get("docker-content-digest"), digest);
  const get = await fetch(`${url}/v2/mono/a/blobs/${digest}`);
  assert.equal(await get.text(), "0123456789");
  const part = await fetch(`${url}/v2/mono/a/blobs/${digest}`, { headers: { Range: "bytes=2-4" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), "bytes 2-4/10");
  assert.equal(await part.text(), "234");
  const past = await fetch(`${url}/v2/mono/a/blobs/${digest}`, { headers: { Range: "bytes=10-" } });
  assert.equal(past.status, 416);
  await past.arrayBuffer();
  // Another repository cannot read it without a link.
  const other = await fetch(`${url}/v2/mono/b/blobs/${digest}`);
  assert.equal(other.status, 404);
  assert.equal(await errorCode(other), "BLOB_UNKNOWN");
});

test("a monolithic upload with the wrong digest is DIGEST_INVALID and stores nothing", async () => {
  const res = await fetch(`${url}/v2/bad/digest/blobs/uploads/?digest=${missing}`, {
    method: "POST",
    body: "abc",
  });
  assert.equal(res.status, 400);
  assert.equal(await errorCode(res), "DIGEST_INVALID");
  const head = await fetch(`${url}/v2/bad/digest/blobs/${missing}`, { method: "HEAD" });
  assert.equal(head.status, 404);
  const algo = await fetch(`${url}/v2/bad/digest/blobs/uploads/?digest=md5:${"a".repeat(32)}`, {
    method: "POST",
    body: "abc",
  });
  assert.equal(await errorCode(algo), "DIGEST_INVALID");
  const blobAlgo = await fetch(`${url}/v2/bad/digest/blobs/foo:${"a".repeat(64)}`);
  assert.equal(await errorCode(blobAlgo), "DIGEST_INVALID");
});

test("chunked upload: Location, Range, UUID; 416 for repeated and gapped chunks; GET status; finish with last chunk", async () => {
  const start = await fetch(`${url}/v2/chunked/blobs/uploads/`, { method: "POST" });
  assert.equal(start.status, 202);
  const loc = start.headers.get("location")!;
  const uuid = start.headers.get("docker-upload-uuid")!;
  assert.ok(loc.endsWith(uuid));
  assert.equal(start.headers.get("range"), "0-0");
  const p1 = await fetch(`${url}${loc}`, {
    method: "PATCH",
    headers: { "Content-Range": "0-4", "Content-Type": "application/octet-stream" },
    body: "hello",
  });
  assert.equal(p1.status, 202);
  assert.equal(p1.headers.get("range"), "0-4");
  assert.equal(p1.headers.get("docker-upload-uuid"), uuid);
  const again = await fetch(`${url}${loc}`, {
    method: "PATCH",
    headers: { "Content-Range": "0-4" },
    body: "hello",
  });
  assert.equal(again.status, 416);
  assert.equal(again.headers.get("range"), "0-4");
  assert.equal(await errorCode(again), "BLOB_UPLOAD_INVALID");
  const gap = await fetch(`${url}${loc}`, {
    method: "PATCH",
    headers: { "Content-Range": "10-11" },
    body: "xx",
  });
  assert.equal(gap.status, 416);
  await gap.arrayBuffer();
  const lying = await fetch(`${url}${loc}`, {
    method: "PATCH",
    headers: { "Content-Range": "5-9" },
    body: "xx",
  });
  assert.equal(lying.status, 400);
  assert.equal(await errorCode(lying), "SIZE_INVALID");
  const status = await fetch(`${url}${loc}`);
  assert.equal(status.status, 204);
  assert.equal(status.headers.get("range"), "0-4");
  assert.equal(status.headers.get("location"), loc);
  const digest = digestOf("hello world");
  const put = await fetch(`${url}${loc}?digest=${digest}`, {
    method: "PUT",
    headers: { "Content-Range": "5-10" },
    body: " world",
  });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("location"), `/v2/chunked/blobs/${digest}`);
  assert.equal(put.headers.get("docker-content-digest"), digest);
  assert.equal(await (await fetch(`${url}/v2/chunked/blobs/${digest}`)).text(), "hello world");
  const gone = await fetch(`${url}${loc}`);
  assert.equal(await errorCode(gone), "BLOB_UPLOAD_UNKNOWN");
});

test("streamed PATCH then PUT without body; a wrong final digest ends the session", async () => {
  const start = await fetch(`${url}/v2/streamed/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  await (await fetch(`${url}${loc}`, { method: "PATCH", body: "abc" })).arrayBuffer();
  const bad = await fetch(`${url}${loc}?digest=${missing}`, { method: "PUT" });
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), "DIGEST_INVALID");
  assert.equal((await fetch(`${url}/v2/streamed/blobs/${missing}`, { method: "HEAD" })).status, 404);
  assert.equal(await errorCode(await fetch(`${url}${loc}`)), "BLOB_UPLOAD_UNKNOWN");
  const noDigest = await fetch(`${url}/v2/streamed/blobs/uploads/`, { method: "POST" });
  const loc2 = noDigest.headers.get("location")!;
  assert.equal(await errorCode(await fetch(`${url}${loc2}`, { method: "PUT" })), "DIGEST_INVALID");
});

/** A body sent as a stream of `piece`-byte writes (the registry batches them into one reused buffer). */
function inPieces(data: Buffer, piece: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) c.close();
      else {
        c.enqueue(data.subarray(at, at + piece));
        at += piece;
      }
    },
  });
}

test("bodies of several batches in odd-sized pieces are stored byte for byte (monolithic, PATCH, and a piece over a batch)", async () => {
  // 3.3 MiB: three full 1 MiB batches and a partial one, in pieces that straddle batch ends.
  const data = randomBytes(3 * (1 << 20) + 300_001);
  const digest = digestOf(data);
  const put = await fetch(`${url}/v2/batches/a/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: inPieces(data, 65_537),
    duplex: "half",
  } as RequestInit);
  assert.equal(put.status, 201, await put.text());
  assert.ok(
    Buffer.from(await (await fetch(`${url}/v2/batches/a/blobs/${digest}`)).arrayBuffer()).equals(data),
  );
  // A session: a first PATCH in small pieces, a second one as a single piece larger than a batch.
  const start = await fetch(`${url}/v2/batches/b/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  const cut = 1_000_003;
  const first = await fetch(`${url}${loc}`, {
    method: "PATCH",
    body: inPieces(data.subarray(0, cut), 4_099),
    duplex: "half",
  } as RequestInit);
  assert.equal(first.status, 202);
  const loc2 = first.headers.get("location")!;
  const second = await fetch(`${url}${loc2}`, { method: "PATCH", body: data.subarray(cut) });
  assert.equal(second.status, 202);
  const done = await fetch(
    `${url}${second.headers.get("location")!}${second.headers.get("location")!.includes("?") ? "&" : "?"}digest=${digest}`,
    { method: "PUT" },
  );
  assert.equal(done.status, 201, await done.text());
  assert.ok(
    Buffer.from(await (await fetch(`${url}/v2/batches/b/blobs/${digest}`)).arrayBuffer()).equals(data),
  );
});

test("unknown, foreign and cancelled upload sessions are BLOB_UPLOAD_UNKNOWN", async () => {
  const unknown = await fetch(`${url}/v2/sess/blobs/uploads/00000000-0000-0000-0000-000000000000`);
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), "BLOB_UPLOAD_UNKNOWN");
  assert.equal(await errorCode(await fetch(`${url}/v2/sess/blobs/uploads/..%2e`)), "BLOB_UPLOAD_UNKNOWN");
  const start = await fetch(`${url}/v2/sess/blobs/uploads/`, { method: "POST" });
  const uuid = start.headers.get("docker-upload-uuid")!;
  assert.equal(await errorCode(await fetch(`${url}/v2/other/blobs/uploads/${uuid}`)), "BLOB_UPLOAD_UNKNOWN");
  const del = await fetch(`${url}/v2/sess/blobs/uploads/${uuid}`, { method: "DELETE" });
  assert.equal(del.status, 204);
  assert.equal(await errorCode(await fetch(`${url}/v2/sess/blobs/uploads/${uuid}`)), "BLOB_UPLOAD_UNKNOWN");
});

test("cross-repository mount links a blob, or falls back to a new session", async () => {
  const digest = await pushBlob(url, "mount/src", "mount me");
  const ok = await fetch(`${url}/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`, {
    method: "POST",
  });
  assert.equal(ok.status, 201);
  assert.equal(ok.headers.get("location"), `/v2/mount/dst/blobs/${digest}`);
  assert.equal(await (await fetch(`${url}/v2/mount/dst/blobs/${digest}`)).text(), "mount me");
  const fallback = await fetch(`${url}/v2/mount/dst2/blobs/uploads/?mount=${digest}&from=mount/none`, {
    method: "POST",
  });
  assert.equal(fallback.status, 202);
  assert.ok(fallback.headers.get("docker-upload-uuid"));
});

test("a mount without from finds the blob in another repository (automatic cross-mount, on by default)", async () => {
  const digest = await pushBlob(url, "automount/src", "found without from");
  const res = await fetch(`${url}/v2/automount/dst/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("location"), `/v2/automount/dst/blobs/${digest}`);
  assert.equal(res.headers.get("docker-content-digest"), digest);
  assert.equal(await (await fetch(`${url}/v2/automount/dst/blobs/${digest}`)).text(), "found without from");
  const again = await fetch(`${url}/v2/automount/dst/blobs/uploads/?mount=${digest}`, { method: "POST" });
  assert.equal(again.status, 201, "already in the repository");
  const unknown = await fetch(`${url}/v2/automount/dst/blobs/uploads/?mount=${missing}`, { method: "POST" });
  assert.equal(unknown.status, 202, "a blob nobody holds opens a session");
  assert.ok(unknown.headers.get("docker-upload-uuid"));
});

test("with automatic cross-mount off, a mount without from opens a session, as the spec says", async () => {
  const off = await startTestRegistry((c) => {
    c.storage.autoCrossMount = false;
  });
  try {
    const digest = await pushBlob(off.url, "automount/src", "not found without from");
    for (const repo of ["automount/dst", "automount/src"]) {
      const res = await fetch(`${off.url}/v2/${repo}/blobs/uploads/?mount=${digest}`, { method: "POST" });
      assert.equal(res.status, 202, repo);
      assert.match(res.headers.get("location")!, new RegExp(`^/v2/${repo}/blobs/uploads/`));
    }
    const head = await fetch(`${off.url}/v2/automount/dst/blobs/${digest}`, { method: "HEAD" });
    assert.equal(head.status, 404, "nothing was linked");
    const withFrom = await fetch(
      `${off.url}/v2/automount/dst/blobs/uploads/?mount=${digest}&from=automount/src`,
      {
        method: "POST",
      },
    );
    assert.equal(withFrom.status, 201, "an explicit from still mounts");
  } finally {
    await off.stop();
  }
});

test("manifests: put by tag, get and head by tag and digest, with content type and digest", async () => {
  const { digest, body } = await pushImage(url, "img/one", "v1", ["layer-a", "layer-b"]);
  for (const ref of ["v1", digest]) {
    const get = await fetch(`${url}/v2/img/one/manifests/${ref}`, {
      headers: { Accept: MediaType.OciManifest },
    });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-type"), MediaType.OciManifest);
    assert.equal(get.headers.get("docker-content-digest"), digest);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), body);
    const head = await fetch(`${url}/v2/img/one/manifests/${ref}`, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(body.length));
  }
  const put = await putManifest(url, "img/one", digest, body, MediaType.OciManifest);
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("location"), `/v2/img/one/manifests/${digest}`);
  const unknown = await fetch(`${url}/v2/img/one/manifests/nope`);
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), "MANIFEST_UNKNOWN");
  assert.equal(await errorCode(await fetch(`${url}/v2/img/none/manifests/v1`)), "NAME_UNKNOWN");
});

test("manifest errors: missing blobs, malformed, wrong digest, too large, missing child", async () => {
  const cfg = await pushBlob(url, "img/bad", "{}");
  const ref = (digest: string) => ({ mediaType: MediaType.OciLayerGzip, digest, size: 1 });
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { ...ref(cfg), mediaType: MediaType.OciConfig },
  };
  const missingBlob = await putManifest(
    url,
    "img/bad",
    "t",
    JSON.stringify({ ...m, layers: [ref(missing)] }),
    MediaType.OciManifest,
  );
  assert.equal(missingBlob.status, 400);
  assert.equal(await errorCode(missingBlob), "MANIFEST_BLOB_UNKNOWN");
  const malformed = await putManifest(url, "img/bad", "t", "{not json", MediaType.OciManifest);
  assert.equal(await errorCode(malformed), "MANIFEST_INVALID");
  const good = JSON.stringify({ ...m, layers: [] });
  const wrong = await putManifest(url, "img/bad", missing, good, MediaType.OciManifest);
  assert.equal(await errorCode(wrong), "DIGEST_INVALID");
  const huge = await putManifest(
    url,
    "img/bad",
    "t",
    JSON.stringify({ ...m, layers: [], annotations: { x: "y".repeat(70_000) } }),
    MediaType.OciManifest,
  );
  assert.equal(huge.status, 413);
  assert.equal(await errorCode(huge), "MANIFEST_INVALID");
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [{ mediaType: MediaType.OciManifest, digest: missing, size: 1 }],
  };
  const missingChild = await putManifest(url, "img/bad", "t", JSON.stringify(index), MediaType.OciIndex);
  assert.equal(await errorCode(missingChild), "MANIFEST_BLOB_UNKNOWN");
  const badTag = await putManifest(url, "img/bad", "-tag", good, MediaType.OciManifest);
  assert.equal(await errorCode(badTag), "MANIFEST_INVALID");
  // None of it left a tag behind.
  const tags = (await (await fetch(`${url}/v2/img/bad/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, []);
});

test("an index over two platform manifests is stored once its children exist", async () => {
  const a = await pushImage(url, "img/multi", "amd64", ["amd64-layer"]);
  const b = await pushImage(url, "img/multi", "arm64", ["arm64-layer"]);
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: a.digest,
        size: a.body.length,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: MediaType.OciManifest,
        digest: b.digest,
        size: b.body.length,
        platform: { os: "linux", architecture: "arm64" },
      },
    ],
  };
  const put = await putManifest(url, "img/multi", "latest", JSON.stringify(index), MediaType.OciIndex);
  assert.equal(put.status, 201);
  const get = await fetch(`${url}/v2/img/multi/manifests/latest`);
  assert.equal(get.headers.get("content-type"), MediaType.OciIndex);
  await get.arrayBuffer();
  // A client that reads only image manifests gets the linux/amd64 one, as distribution answers.
  const single = await fetch(`${url}/v2/img/multi/manifests/latest`, {
    headers: { Accept: MediaType.OciManifest },
  });
  assert.equal(single.headers.get("docker-content-digest"), a.digest);
  assert.deepEqual(Buffer.from(await single.arrayBuffer()), a.body);
  const none = await fetch(`${url}/v2/img/multi/manifests/amd64`, {
    headers: { Accept: MediaType.DockerManifest },
  });
  assert.equal(none.status, 404);
  assert.equal(await errorCode(none), "MANIFEST_UNKNOWN");
  const byDigest = await fetch(`${url}/v2/img/multi/manifests/${a.digest}`, {
    headers: { Accept: MediaType.DockerManifest },
  });
  assert.equal(byDigest.status, 200);
  await byDigest.arrayBuffer();
});

test("referrers: OCI-Subject on push, listing with artifactType and annotations, filter, empty for unknown", async () => {
  const subject = await pushImage(url, "ref/app", "v1", ["app-layer"]);
  const subjectDesc = { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.body.length };
  const emptyCfg = await pushBlob(url, "ref/app", "{}");
  const artifact = (type: string, note: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: type,
      config: { mediaType: MediaType.OciEmpty, digest: emptyCfg, size: 2 },
      layers: [],
      subject: subjectDesc,
      annotations: { note },
    });
  const sbom = artifact("application/vnd.example.sbom", "s");
  const put = await putManifest(url, "ref/app", digestOf(sbom), sbom, MediaType.OciManifest);
  assert.equal(put.status, 201);
  assert.equal(put.headers.get("oci-subject"), subject.digest);
  const sig = artifact("application/vnd.example.sig", "g");
  assert.equal((await putManifest(url, "ref/app", digestOf(sig), sig, MediaType.OciManifest)).status, 201);
  const all = await fetch(`${url}/v2/ref/app/referrers/${subject.digest}`);
  assert.equal(all.status, 200);
  assert.equal(all.headers.get("content-type"), MediaType.OciIndex);
  const idx = (await all.json()) as {
    manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[];
  };
  assert.equal(idx.manifests.length, 2);
  const found = idx.manifests.find((m) => m.digest === digestOf(sbom))!;
  assert.equal(found.artifactType, "application/vnd.example.sbom");
  assert.deepEqual(found.annotations, { note: "s" });
  const filtered = await fetch(
    `${url}/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.example.sig`,
  );
  assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
  const fidx = (await filtered.json()) as { manifests: { digest: string }[] };
  assert.deepEqual(
    fidx.manifests.map((m) => m.digest),
    [digestOf(sig)],
  );
  const none = await fetch(`${url}/v2/ref/app/referrers/${missing}`);
  assert.equal(none.status, 200);
  assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
  const bad = await fetch(`${url}/v2/ref/app/referrers/sha256:zz`);
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), "DIGEST_INVALID");
});

test("tags list and catalog paginate with n, last and Link", async () => {
  for (const tag of ["c", "a", "b", "d"]) await pushImage(url, "page/x", tag, []);
  const all = (await (await fetch(`${url}/v2/page/x/tags/list`)).json()) as { name: string; tags: string[] };
  assert.deepEqual(all, { name: "page/x", tags: ["a", "b", "c", "d"] });
  const p1 = await fetch(`${url}/v2/page/x/tags/list?n=2`);
  assert.equal(p1.headers.get("link"), '</v2/page/x/tags/list?n=2&last=b>; rel="next"');
  assert.deepEqual(((await p1.json()) as { tags: string[] }).tags, ["a", "b"]);
  const p2 = await fetch(`${url}/v2/page/x/tags/list?n=2&last=b`);
  assert.deepEqual(((await p2.json()) as { tags: string[] }).tags, ["c", "d"]);
  assert.equal(p2.headers.get("link"), null);
  const zero = await fetch(`${url}/v2/page/x/tags/list?n=0`);
  assert.equal(zero.headers.get("link"), null);
  assert.deepEqual(((await zero.json()) as { tags: string[] }).tags, []);
  assert.equal(await errorCode(await fetch(`${url}/v2/page/none/tags/list`)), "NAME_UNKNOWN");
  const cat = await fetch(`${url}/v2/_catalog?n=1`);
  const first = ((await cat.json()) as { repositories: string[] }).repositories;
  assert.equal(first.length, 1);
  assert.match(cat.headers.get("link")!, /^<\/v2\/_catalog\?n=1&last=.+>; rel="next"$/);
  const rest = (await (await fetch(`${url}/v2/_catalog?last=${encodeURIComponent(first[0]!)}`)).json()) as {
    repositories: string[];
  };
  assert.ok(rest.repositories.includes("page/x"));
  assert.ok(!rest.repositories.includes(first[0]!));
});

test("deleting a tag keeps the manifest; deleting by digest removes it and its tags; blob delete unlinks", async () => {
  const { digest } = await pushImage(url, "del/x", "one", ["del-layer"]);
  assert.equal(
    (
      await putManifest(
        url,
        "del/x",
        "two",
        await (await fetch(`${url}/v2/del/x/manifests/one`)).text(),
        MediaType.OciManifest,
      )
    ).status,
    201,
  );
  assert.equal((await fetch(`${url}/v2/del/x/manifests/one`, { method: "DELETE" })).status, 202);
  assert.equal((await fetch(`${url}/v2/del/x/manifests/one`, { method: "HEAD" })).status, 404);
  assert.equal((await fetch(`${url}/v2/del/x/manifests/${digest}`, { method: "HEAD" })).status, 200);
  assert.equal((await fetch(`${url}/v2/del/x/manifests/${digest}`, { method: "DELETE" })).status, 202);
  assert.equal((await fetch(`${url}/v2/del/x/manifests/two`, { method: "HEAD" })).status, 404);
  assert.equal(
    await errorCode(await fetch(`${url}/v2/del/x/manifests/${digest}`, { method: "DELETE" })),
    "MANIFEST_UNKNOWN",
  );
  const blob = digestOf("del-layer");
  assert.equal((await fetch(`${url}/v2/del/x/blobs/${blob}`, { method: "DELETE" })).status, 202);
  assert.equal((await fetch(`${url}/v2/del/x/blobs/${blob}`, { method: "HEAD" })).status, 404);
  assert.equal(
    await errorCode(await fetch(`${url}/v2/del/x/blobs/${blob}`, { method: "DELETE" })),
    "BLOB_UNKNOWN",
  );
});

test("invalid names are NAME_INVALID; unsupported methods UNSUPPORTED", async () => {
  const upper = await fetch(`${url}/v2/Upper/tags/list`);
  assert.equal(upper.status, 400);
  assert.equal(await errorCode(upper), "NAME_INVALID");
  const dots = await rawExchange(url, [
    { data: "GET /v2/a/../x/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" },
  ]);
  assert.match(dots.text, /^HTTP\/1.1 400/);
  assert.match(dots.text, /NAME_INVALID/);
  const post = await fetch(`${url}/v2/a/manifests/t`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(await errorCode(post), "UNSUPPORTED");
});

test("a Content-Length that lies, and a claimed 1 PB body, store nothing", async () => {
  const digest = digestOf("x".repeat(100));
  const short = await rawExchange(
    url,
    [
      {
        data: `POST /v2/lie/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${"x".repeat(50)}`,
      },
    ],
    { waitMs: 300, endAfter: true },
  );
  assert.doesNotMatch(short.text, /^HTTP\/1.1 2/);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await fetch(`${url}/v2/lie/blobs/${digest}`, { method: "HEAD" })).status, 404);
  const huge = await rawExchange(url, [
    {
      data: `POST /v2/lie/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\nxx`,
    },
  ]);
  assert.match(huge.text, /^HTTP\/1.1 413/);
  assert.match(huge.text, /SIZE_INVALID/);
  assert.ok(huge.closedByServer);
});

test("a claimed 10 GB body over the blob limit is SIZE_INVALID before any byte is read", async () => {
  const t2 = await startTestRegistry((c) => {
    c.storage.maxBlobBytes = 1 << 30;
  });
  try {
    const res = await rawExchange(t2.url, [
      {
        data: `POST /v2/big/blobs/uploads/?digest=${missing} HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\nxx`,
      },
    ]);
    assert.match(res.text, /^HTTP\/1.1 413/);
    assert.match(res.text, /SIZE_INVALID/);
  } finally {
    await t2.stop();
  }
});

test("chunks that together pass the blob limit are refused, with or without Content-Length", async () => {
  const t2 = await startTestRegistry((c) => {
    c.storage.maxBlobBytes = 10;
  });
  try {
    const start = await fetch(`${t2.url}/v2/limit/blobs/uploads/`, { method: "POST" });
    const loc = start.headers.get("location")!;
    assert.equal(
      (
        await fetch(`${t2.url}${loc}`, {
          method: "PATCH",
          headers: { "Content-Range": "0-5" },
          body: "123456",
        })
      ).status,
      202,
    );
    const over = await fetch(`${t2.url}${loc}`, {
      method: "PATCH",
      headers: { "Content-Range": "6-11" },
      body: "789012",
    });
    assert.equal(over.status, 413);
    assert.equal(await errorCode(over), "SIZE_INVALID");
    const streamed = await fetch(`${t2.url}/v2/limit/blobs/uploads/?digest=${digestOf("x".repeat(11))}`, {
      method: "POST",
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("x".repeat(11)));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(await errorCode(streamed), "SIZE_INVALID");
  } finally {
    await t2.stop();
  }
});

test("a client that claims 10 GB and stalls is cut off and leaves nothing", async () => {
  const t2 = await startTestRegistry((c) => {
    c.http.idleTimeoutMs = 300;
  });
  try {
    const res = await rawExchange(
      t2.url,
      [
        {
          data: `POST /v2/big/blobs/uploads/?digest=${missing} HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\nxxxx`,
        },
      ],
      { waitMs: 3000 },
    );
    assert.ok(res.closedByServer);
    assert.doesNotMatch(res.text, /^HTTP\/1.1 2/);
    assert.equal((await fetch(`${t2.url}/v2/big/blobs/${missing}`, { method: "HEAD" })).status, 404);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await readdir(join(t2.root, "content", "ingest")), [], "no partial data left");
  } finally {
    await t2.stop();
  }
});

test("/metrics exposes request counters", async () => {
  const text = await (await fetch(`${url}/metrics`)).text();
  assert.match(text, /pier_registry_http_requests_total\{method="GET",route="base",status="200"\} \d+/);
});
