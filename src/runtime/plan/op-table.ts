/**
 * The vocabulary of the plan that `native/pier-init` executes: every op, what it does, and the
 * arguments it takes, in one table. Both sides come from it: {@link op} (in `ops.ts`) is typed by
 * it, so a wrong op name or argument fails `tsc`; `native/plan-ops.h` (the C dispatch table:
 * name, handler `op_<name>`, argument counts) is generated from it by `scripts/gen-plan-ops.mjs`,
 * and `op-header_test.ts` fails when the checked-in header or the built helper differ from it.
 *
 * An op's arguments are, in order: `args` (always), `optional` (each may be left off, from the
 * end), then `rest` (any number). Each is `[NAME, kind]`; the kind is its TypeScript type and
 * how it travels (see {@link ArgKind}).
 */

/**
 * What one argument carries:
 * - `"text"`: a string, sent as is (any byte but NUL: paths and environment values unescaped);
 * - `"int"`: a number, sent in decimal;
 * - `"bit"`: 0 or 1, sent as such;
 * - `"decimal"`: a string of decimal digits, for values beyond a JS number's exact range;
 * - `"mask"`: a bigint bit mask, sent as `0x` and hex digits;
 * - `"bytes"`: a Uint8Array, sent as lowercase hex;
 * - a list of words: exactly one of them.
 */
export type ArgKind = "text" | "int" | "bit" | "decimal" | "mask" | "bytes" | readonly [string, ...string[]];

/** One argument of an op: its name (upper case, for messages and the C listing) and its kind. */
export type ArgSpec = readonly [name: string, kind: ArgKind];

/** One op of the table. */
export interface OpSpec {
  /** What the helper does for it (the C side's comment). */
  readonly doc: string;
  readonly args: readonly ArgSpec[];
  readonly optional?: readonly ArgSpec[];
  readonly rest?: ArgSpec;
}

/**
 * Every op pier-init knows, by name. Keys are the names on the wire (lower case letters, the C
 * handler is `op_<name>`).
 */
export const PLAN_OPS = {
  // --- before clone: the helper's own settings and what it opens on the host ---
  mode: {
    doc: "detach: the parent exits once the child runs; wait: it waits and exits with its status",
    args: [["MODE", ["detach", "wait"]]],
  },
  pidfile: {
    doc: "the parent writes the child's pid to PATH before it reports it",
    args: [["PATH", "text"]],
  },
  preserve: { doc: "fds 3 .. 3+COUNT-1 reach the container process", args: [["COUNT", "int"]] },
  uidmap: { doc: "uid_map text the parent writes for a new user namespace", args: [["MAP", "text"]] },
  gidmap: { doc: "gid_map text the parent writes for a new user namespace", args: [["MAP", "text"]] },
  newuidmap: {
    doc: "the parent maps uids with the setuid helper at PATH (after the pid: ID HOSTID SIZE...)",
    args: [
      ["PATH", "text"],
      ["ID", "int"],
      ["HOSTID", "int"],
      ["SIZE", "int"],
    ],
    rest: ["MORE", "int"],
  },
  newgidmap: {
    doc: "the parent maps gids with the setuid helper at PATH (after the pid: ID HOSTID SIZE...)",
    args: [
      ["PATH", "text"],
      ["ID", "int"],
      ["HOSTID", "int"],
      ["SIZE", "int"],
    ],
    rest: ["MORE", "int"],
  },
  setgroups: {
    doc: "the parent writes VALUE to the child's /proc/PID/setgroups",
    args: [["VALUE", ["deny"]]],
  },
  setns: {
    doc: "joins the namespace file at PATH (FLAGS: its CLONE_NEW* type)",
    args: [
      ["PATH", "text"],
      ["FLAGS", "int"],
    ],
  },
  mkfifo: {
    doc: "makes the exec fifo at PATH, mode 0622, owned by UID:GID",
    args: [
      ["PATH", "text"],
      ["UID", "int"],
      ["GID", "int"],
    ],
  },
  openfifo: { doc: "opens the exec fifo at PATH (O_PATH) for waitfifo", args: [["PATH", "text"]] },
  cgroupfd: {
    doc: "the child of clone is born in cgroup v2 directory DIR (CLONE_INTO_CGROUP)",
    args: [["DIR", "text"]],
  },
  tasksfd: { doc: "opens a cgroup v1 tasks FILE on the host, for joincgroups", args: [["FILE", "text"]] },
  idmaptree: {
    doc: "clones SRC (open_tree) and idmaps it with UIDMAP/GIDMAP before clone, for idmapmount INDEX",
    args: [
      ["INDEX", "int"],
      ["SRC", "text"],
      ["UIDMAP", "text"],
      ["GIDMAP", "text"],
      ["IDMAP_RECURSIVE", "bit"],
      ["CLONE_RECURSIVE", "bit"],
    ],
  },
  consolepair: {
    doc: "a socket pair through which the waiting parent proxies the pty (run with a tty)",
    args: [],
  },
  timens: {
    doc: "unshares a time namespace and writes its OFFSETS (timens_offsets text)",
    args: [["OFFSETS", "text"]],
  },
  devfilter: {
    doc: "loads PROGRAM (BPF_PROG_TYPE_CGROUP_DEVICE, LICENSE) and attaches it to cgroup v2 DIR",
    args: [
      ["DIR", "text"],
      ["LICENSE", "text"],
      ["PROGRAM", "bytes"],
    ],
  },
  done: { doc: "ends a plan that was a task for the helper alone (exit 0)", args: [] },
  // --- clone and the sync points with the runtime ---
  clone: {
    doc: "splits into parent and child with the CLONE_NEW* FLAGS; the child runs what follows",
    args: [["FLAGS", "int"]],
  },
  sync: { doc: "asks the runtime for sync point NAME and waits for its answer", args: [["NAME", "text"]] },
  syncsend: {
    doc: "asks the runtime for sync point NAME without waiting (see syncwait)",
    args: [["NAME", "text"]],
  },
  syncwait: { doc: "waits for the runtime's answer to the last syncsend", args: [] },
  notify: { doc: "tells the runtime NAME; after ready it stops listening", args: [["NAME", "text"]] },
  joincgroups: { doc: "moves this process into each tasksfd hierarchy", args: [] },
  unshare: { doc: "unshares the CLONE_NEW* FLAGS", args: [["FLAGS", "int"]] },
  root: { doc: "becomes root (uid, gid 0, no groups) of the user namespace", args: [] },
  setsid: { doc: "starts a new session", args: [] },
  keyring: { doc: "joins a new session keyring named NAME", args: [["NAME", "text"]] },
  oom: { doc: "writes SCORE to /proc/self/oom_score_adj", args: [["SCORE", "int"]] },
  consock: { doc: "connects the --console-socket at PATH", args: [["PATH", "text"]] },
  // --- the root file system ---
  rootprop: { doc: "sets the propagation FLAGS of /", args: [["FLAGS", "int"]] },
  rootfs: { doc: "binds the rootfs at PATH onto itself, the root of what follows", args: [["PATH", "text"]] },
  mount: {
    doc: "mounts SRC on DEST inside the rootfs; KIND file makes a file, ordinary wants a directory that is no symlink; noproc refuses a DEST in procfs",
    args: [
      ["SRC", "text"],
      ["DEST", "text"],
      ["FSTYPE", "text"],
      ["FLAGS", "int"],
      ["DATA", "text"],
    ],
    optional: [
      ["KIND", ["file", "dir", "ordinary"]],
      ["GUARD", ["noproc"]],
    ],
  },
  idmapmount: {
    doc: "attaches the idmaptree INDEX at DEST inside the rootfs with FLAGS; noproc refuses a DEST in procfs",
    args: [
      ["INDEX", "int"],
      ["DEST", "text"],
      ["KIND", ["file", "dir"]],
      ["FLAGS", "int"],
    ],
    optional: [["GUARD", ["noproc"]]],
  },
  propagate: {
    doc: "sets the propagation FLAGS of the mount at DEST inside the rootfs",
    args: [
      ["DEST", "text"],
      ["FLAGS", "int"],
    ],
  },
  setattr: {
    doc: "sets and clears the recursive mount attributes at DEST (mount_setattr)",
    args: [
      ["DEST", "text"],
      ["SET", "int"],
      ["CLEAR", "int"],
    ],
  },
  mkdev: {
    doc: "makes (or, BIND 1, binds the host's) device node PATH inside the rootfs",
    args: [
      ["PATH", "text"],
      ["TYPE", ["c", "b", "p"]],
      ["MAJOR", "int"],
      ["MINOR", "int"],
      ["MODE", "int"],
      ["UID", "int"],
      ["GID", "int"],
      ["BIND", "bit"],
    ],
  },
  symlink: {
    doc: "makes symlink LINKPATH -> TARGET inside the rootfs",
    args: [
      ["TARGET", "text"],
      ["LINKPATH", "text"],
    ],
  },
  seccompmsg: {
    doc: "connects the seccomp listener socket at PATH (sync seccomp's answer is the message)",
    args: [["PATH", "text"]],
  },
  hookstate: {
    doc: "the status that the container's state JSON shows to the following hooks",
    args: [["STATUS", ["creating", "created"]]],
  },
  hook: {
    doc: "runs the hook at PATH (NARGS arguments, then its environment), state JSON on stdin",
    args: [
      ["PATH", "text"],
      ["TIMEOUT_SECONDS", "int"],
      ["NARGS", "int"],
    ],
    rest: ["ARG_OR_ENV", "text"],
  },
  pivot: { doc: "pivot_root into the rootfs, the old root detached", args: [] },
  chroot: { doc: "chroot into the rootfs (--no-pivot)", args: [] },
  sysctl: {
    doc: "writes VALUE to PATH below /proc/sys",
    args: [
      ["PATH", "text"],
      ["VALUE", "text"],
    ],
  },
  ropath: { doc: "makes PATH read-only (linux.readonlyPaths)", args: [["PATH", "text"]] },
  mask: {
    doc: "covers PATH with /dev/null or an empty read-only tmpfs (linux.maskedPaths)",
    args: [["PATH", "text"]],
  },
  readonlyroot: { doc: "remounts / read-only", args: [] },
  hostname: { doc: "sethostname", args: [["NAME", "text"]] },
  domainname: { doc: "setdomainname", args: [["NAME", "text"]] },
  consize: {
    doc: "the size of the pty that console opens",
    args: [
      ["ROWS", "int"],
      ["COLS", "int"],
    ],
  },
  console: {
    doc: "opens a pty, sends its master, makes it stdio; devconsole also binds it at /dev/console",
    args: [],
    optional: [["CONSOLE", ["devconsole"]]],
  },
  // --- the process ---
  rlimit: {
    doc: "setrlimit RESOURCE to SOFT and HARD",
    args: [
      ["RESOURCE", "int"],
      ["SOFT", "decimal"],
      ["HARD", "decimal"],
    ],
  },
  env: { doc: "the environment of exec", args: [], rest: ["VAR", "text"] },
  home: {
    doc: "sets HOME from the passwd entry of UID when the environment has none",
    args: [["UID", "int"]],
  },
  umask: { doc: "umask", args: [["MASK", "int"]] },
  personality: { doc: "personality DOMAIN (before any filter)", args: [["DOMAIN", "int"]] },
  cloexec: { doc: "every fd above stdio and the preserved ones becomes close-on-exec", args: [] },
  cwd: {
    doc: "chdir; without verified, also checks that it landed inside the container",
    args: [["PATH", "text"]],
    optional: [["VERIFIED", ["verified"]]],
  },
  nnp: { doc: "sets no_new_privs", args: [] },
  bounding: {
    doc: "drops every capability not in MASK from the bounding set",
    args: [
      ["LAST_CAP", "int"],
      ["MASK", "mask"],
    ],
  },
  user: {
    doc: "setgroups (GROUP... ; - leaves them), setresgid GID, setresuid UID",
    args: [
      ["UID", "int"],
      ["GID", "int"],
    ],
    rest: ["GROUP", "text"],
  },
  caps: {
    doc: "sets the capability sets",
    args: [
      ["LAST_CAP", "int"],
      ["EFFECTIVE", "mask"],
      ["PERMITTED", "mask"],
      ["INHERITABLE", "mask"],
      ["AMBIENT", "mask"],
    ],
  },
  seccomp: {
    doc: "loads the seccomp filter PROGRAM (struct sock_filter[]) with FLAGS",
    args: [
      ["FLAGS", "int"],
      ["PROGRAM", "bytes"],
    ],
  },
  waitfifo: { doc: "waits for start: opens the exec fifo for writing", args: [] },
  exec: {
    doc: "execve FILE with ARGV (FILE is also argv[0]) and the env op's environment",
    args: [["FILE", "text"]],
    rest: ["ARG", "text"],
  },
} as const satisfies Record<string, OpSpec>;

/** The name of an op pier-init knows. */
export type OpName = keyof typeof PLAN_OPS;

type KindValue<K> = K extends "text" | "decimal"
  ? string
  : K extends "int"
    ? number
    : K extends "bit"
      ? 0 | 1
      : K extends "mask"
        ? bigint
        : K extends "bytes"
          ? Uint8Array
          : K extends readonly (infer W)[]
            ? W
            : never;

type Values<T extends readonly ArgSpec[]> = { -readonly [I in keyof T]: KindValue<T[I][1]> };

type Spec<N extends OpName> = (typeof PLAN_OPS)[N];

/** The TypeScript values an op takes, in order (what {@link op} accepts after the name). */
export type OpArgs<N extends OpName> = [
  ...Values<Spec<N>["args"]>,
  ...(Spec<N> extends { optional: infer O extends readonly ArgSpec[] } ? Partial<Values<O>> : []),
  ...(Spec<N> extends { rest: infer R extends ArgSpec } ? KindValue<R[1]>[] : []),
];

/** The fewest and the most arguments op `spec` takes (`max` -1: no upper bound). */
export function argCounts(spec: OpSpec): { min: number; max: number } {
  const min = spec.args.length;
  return { min, max: spec.rest ? -1 : min + (spec.optional?.length ?? 0) };
}

/** One line of documentation of an op's arguments, e.g. `MODE:detach|wait [PATH:text] ARG:text...`. */
export function signature(spec: OpSpec): string {
  const one = ([name, kind]: ArgSpec) => `${name}:${typeof kind === "string" ? kind : kind.join("|")}`;
  return [
    ...spec.args.map(one),
    ...(spec.optional ?? []).map((a) => `[${one(a)}]`),
    ...(spec.rest ? [`${one(spec.rest)}...`] : []),
  ].join(" ");
}
