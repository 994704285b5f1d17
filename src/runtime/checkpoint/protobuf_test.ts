import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage, ProtobufError } from "./protobuf.js";
import { decodeResp, encodeReq, ReqType } from "./rpc.js";

test("criu_req encodes with rpc.proto's field numbers", () => {
  assert.deepEqual([...encodeReq({ type: ReqType.VERSION })], [0x08, 0x0a]);
  // type=DUMP, opts{images_dir_fd=4, root="/r", ext_mnt{key="/a",val="/b"}}
  const bytes = encodeReq({
    type: ReqType.DUMP,
    opts: { imagesDirFd: 4, root: "/r", extMnt: [{ key: "/a", val: "/b" }] },
  });
  assert.deepEqual(
    [...bytes],
    [
      0x08, 0x01, 0x12, 0x11, 0x08, 0x04, 0x6a, 0x02, 0x2f, 0x72, 0xba, 0x01, 0x08, 0x0a, 0x02, 0x2f, 0x61,
      0x12, 0x02, 0x2f, 0x62,
    ],
  );
});

test("a negative int32 is sign-extended to ten bytes and decodes back", () => {
  const schema = { v: { no: 1, kind: "int32" as const } };
  const b = encodeMessage(schema, { v: -1 });
  assert.equal(b.length, 11);
  assert.equal(decodeMessage(schema, b).v, -1);
});

test("criu_resp decodes, skipping unknown fields; truncated input is refused", () => {
  // type=RESTORE, success=true, unknown field 15 (varint), restore{pid=42}
  const r = decodeResp(Buffer.from([0x08, 0x02, 0x10, 0x01, 0x78, 0x05, 0x22, 0x02, 0x08, 0x2a]));
  assert.equal(r.type, ReqType.RESTORE);
  assert.equal(r.success, true);
  assert.equal(r.restore?.pid, 42);
  assert.throws(() => decodeResp(Buffer.from([0x22, 0x05, 0x08])), ProtobufError);
  assert.throws(() => decodeResp(Buffer.from([0x08, 0x80])), ProtobufError);
});
