/**
 * The little of the protobuf wire format CRIU's RPC needs (proto2, criu's `images/rpc.proto`):
 * varints, length-delimited strings and nested messages, repeated fields unpacked. A message
 * is described by a {@link MessageSchema}: field name → number and kind; decoding keeps the
 * last value of a singular field and every value of a repeated one, skips unknown fields, and
 * refuses truncated or malformed input.
 */

/** The kinds of field CRIU's messages use. */
export type FieldKind = "int32" | "uint32" | "bool" | "enum" | "string" | MessageSchema;

/** One field of a message. */
export interface FieldSchema {
  no: number;
  kind: FieldKind;
  repeated?: boolean;
}

/** A message: its fields by name. */
export interface MessageSchema {
  [name: string]: FieldSchema;
}

/** A decoded or to-be-encoded message (values: number, boolean, string, nested, arrays). */
export type Message = { [name: string]: MessageValue | MessageValue[] | undefined };
type MessageValue = number | boolean | string | Message;

/** Malformed protobuf input. */
export class ProtobufError extends Error {}

function varint(out: number[], v: number | bigint): void {
  let n = BigInt.asUintN(64, BigInt(v));
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
}

function encodeInto(out: number[], schema: MessageSchema, msg: Message): void {
  for (const [name, field] of Object.entries(schema)) {
    const raw = msg[name];
    if (raw === undefined) continue;
    const values = field.repeated ? (raw as MessageValue[]) : [raw as MessageValue];
    for (const v of values) {
      if (typeof field.kind === "object") {
        const inner: number[] = [];
        encodeInto(inner, field.kind, v as Message);
        varint(out, (field.no << 3) | 2);
        varint(out, inner.length);
        for (const b of inner) out.push(b);
      } else if (field.kind === "string") {
        const bytes = Buffer.from(v as string, "utf8");
        varint(out, (field.no << 3) | 2);
        varint(out, bytes.length);
        for (const b of bytes) out.push(b);
      } else {
        varint(out, field.no << 3);
        // int32 negatives are sign-extended to 64 bits, as protobuf does
        varint(out, field.kind === "bool" ? (v ? 1 : 0) : (v as number));
      }
    }
  }
}

/** Encodes `msg` by `schema`. */
export function encodeMessage(schema: MessageSchema, msg: Message): Buffer {
  const out: number[] = [];
  encodeInto(out, schema, msg);
  return Buffer.from(out);
}

/** Decodes `buf` by `schema`. */
export function decodeMessage(schema: MessageSchema, buf: Uint8Array): Message {
  const byNo = new Map<number, [string, FieldSchema]>();
  for (const [name, f] of Object.entries(schema)) byNo.set(f.no, [name, f]);
  const msg: Message = {};
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length) throw new ProtobufError("truncated varint");
      if (shift > 63n) throw new ProtobufError("varint too long");
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    const known = byNo.get(no);
    let value: MessageValue | undefined;
    if (wire === 0) {
      const v = readVarint();
      if (known && typeof known[1].kind !== "object" && known[1].kind !== "string") {
        value =
          known[1].kind === "bool"
            ? v !== 0n
            : known[1].kind === "uint32"
              ? Number(BigInt.asUintN(32, v))
              : Number(BigInt.asIntN(32, v));
      }
    } else if (wire === 2) {
      const len = Number(readVarint());
      if (i + len > buf.length) throw new ProtobufError("truncated field");
      const bytes = buf.subarray(i, i + len);
      i += len;
      if (known?.[1].kind === "string") value = Buffer.from(bytes).toString("utf8");
      else if (known && typeof known[1].kind === "object") value = decodeMessage(known[1].kind, bytes);
    } else if (wire === 5) {
      i += 4;
    } else if (wire === 1) {
      i += 8;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
    if (i > buf.length) throw new ProtobufError("truncated field");
    if (!known || value === undefined) continue;
    const [name, f] = known;
    if (f.repeated) {
      const list = (msg[name] as MessageValue[] | undefined) ?? [];
      list.push(value);
      msg[name] = list;
    } else msg[name] = value;
  }
  return msg;
}
