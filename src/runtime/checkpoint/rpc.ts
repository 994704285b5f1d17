/**
 * The messages of CRIU's RPC protocol pier-runtime uses, with criu's field numbers
 * (`images/rpc.proto` of checkpoint-restore/criu): criu_req, criu_resp and what they carry.
 */
import { decodeMessage, encodeMessage, type MessageSchema } from "./protobuf.js";

/** criu_req_type. */
export const ReqType = {
  EMPTY: 0,
  DUMP: 1,
  RESTORE: 2,
  CHECK: 3,
  PRE_DUMP: 4,
  PAGE_SERVER: 5,
  NOTIFY: 6,
  FEATURE_CHECK: 9,
  VERSION: 10,
} as const;

/** criu_cg_mode, by runc's `--manage-cgroups-mode` names. */
export const CgMode = { ignore: 0, none: 1, props: 2, soft: 3, full: 4, strict: 5, default: 6 } as const;

const str = (no: number) => ({ no, kind: "string" as const });
const bool = (no: number) => ({ no, kind: "bool" as const });
const i32 = (no: number) => ({ no, kind: "int32" as const });
const u32 = (no: number) => ({ no, kind: "uint32" as const });

const extMountMap: MessageSchema = { key: str(1), val: str(2) };
const joinNamespace: MessageSchema = { ns: str(1), nsFile: str(2), extraOpt: str(3) };
const inheritFd: MessageSchema = { key: str(1), fd: i32(2) };
const cgroupRoot: MessageSchema = { ctrl: str(1), path: str(2) };
const features: MessageSchema = { memTrack: bool(1), lazyPages: bool(2) };

const opts: MessageSchema = {
  imagesDirFd: i32(1),
  pid: i32(2),
  leaveRunning: bool(3),
  extUnixSk: bool(4),
  tcpEstablished: bool(5),
  evasiveDevices: bool(6),
  shellJob: bool(7),
  fileLocks: bool(8),
  logLevel: i32(9),
  logFile: str(10),
  notifyScripts: bool(12),
  root: str(13),
  parentImg: str(14),
  trackMem: bool(15),
  autoDedup: bool(16),
  workDirFd: i32(17),
  linkRemap: bool(18),
  extMnt: { no: 23, kind: extMountMap, repeated: true },
  manageCgroups: bool(24),
  cgRoot: { no: 25, kind: cgroupRoot, repeated: true },
  rstSibling: bool(26),
  inheritFd: { no: 27, kind: inheritFd, repeated: true },
  manageCgroupsMode: { no: 34, kind: "enum" },
  external: { no: 37, kind: "string", repeated: true },
  emptyNs: u32(38),
  joinNs: { no: 39, kind: joinNamespace, repeated: true },
  freezeCgroup: str(44),
  tcpSkipInFlight: bool(46),
  lazyPages: bool(48),
  orphanPtsMaster: bool(50),
  configFile: str(51),
};

const req: MessageSchema = {
  type: { no: 1, kind: "enum" },
  opts: { no: 2, kind: opts },
  notifySuccess: bool(3),
  keepOpen: bool(4),
  features: { no: 5, kind: features },
};

const resp: MessageSchema = {
  type: { no: 1, kind: "enum" },
  success: bool(2),
  dump: { no: 3, kind: { restored: bool(1) } },
  restore: { no: 4, kind: { pid: i32(1) } },
  notify: { no: 5, kind: { script: str(1), pid: i32(2) } },
  crErrno: i32(7),
  features: { no: 8, kind: features },
  crErrmsg: str(9),
  version: {
    no: 10,
    kind: { major: i32(1), minor: i32(2), gitid: str(3), sublevel: i32(4), extra: i32(5), name: str(6) },
  },
};

/** criu_opts, as pier-runtime fills it. */
export interface CriuOpts {
  imagesDirFd: number;
  pid?: number;
  leaveRunning?: boolean;
  extUnixSk?: boolean;
  tcpEstablished?: boolean;
  evasiveDevices?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  logLevel?: number;
  logFile?: string;
  notifyScripts?: boolean;
  root?: string;
  parentImg?: string;
  trackMem?: boolean;
  autoDedup?: boolean;
  workDirFd?: number;
  extMnt?: { key: string; val: string }[];
  manageCgroups?: boolean;
  cgRoot?: { ctrl?: string; path: string }[];
  rstSibling?: boolean;
  inheritFd?: { key: string; fd: number }[];
  manageCgroupsMode?: number;
  external?: string[];
  emptyNs?: number;
  joinNs?: { ns: string; nsFile: string }[];
  freezeCgroup?: string;
  lazyPages?: boolean;
  orphanPtsMaster?: boolean;
  configFile?: string;
}

/** CRIU's feature flags (criu_features). */
export interface CriuFeatures {
  memTrack?: boolean;
  lazyPages?: boolean;
}

/** A criu_req. */
export interface CriuReq {
  type: number;
  opts?: CriuOpts;
  notifySuccess?: boolean;
  features?: CriuFeatures;
}

/** A criu_resp. */
export interface CriuResp {
  type: number;
  success: boolean;
  dump?: { restored?: boolean };
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  crErrno?: number;
  crErrmsg?: string;
  features?: CriuFeatures;
  version?: { major: number; minor: number; sublevel?: number; gitid?: string };
}

/** Encodes a request. */
export function encodeReq(r: CriuReq): Buffer {
  return encodeMessage(req, r as unknown as Parameters<typeof encodeMessage>[1]);
}

/** Decodes a response (missing required fields read as 0/false). */
export function decodeResp(buf: Uint8Array): CriuResp {
  const m = decodeMessage(resp, buf) as unknown as CriuResp;
  return { ...m, type: m.type ?? 0, success: m.success ?? false };
}
