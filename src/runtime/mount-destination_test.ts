/**
 * Where a mount lands when its destination goes through symlinks in the rootfs, and which rootfs
 * layouts are refused: each bundle runs with runc and with pier-runtime (each on its own copy of
 * the rootfs), and both must agree: the same mount points seen from inside, or both refusing.
 * Destinations resolve as a whole path from the container root (securejoin's semantics): an
 * absolute symlink from the container's `/`, a relative one from the link's directory, `..`
 * stopping at the root, dangling links followed to create what they name.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let runc = "";
// A host directory that a container's symlink names (a constant: the cases are made at load).
const hostDir = join(tmpdir(), `pier-mntdest-host-${process.pid}`);

before(async () => {
  runc = requireTool("runc", "runc");
  tmp = await makeTempDir("pier-mntdest-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  mkdirSync(hostDir);
});

after(async () => {
  rmSync(hostDir, { recursive: true, force: true });
  await removeTempDir(tmp);
});

const tmpfsAt = (destination: string) => (s: Spec) => {
  s.mounts?.push({ destination, type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
};

/** Prints the container's mount points whose path has one of the test's names in it. */
const SHOW = "awk '$2 ~ /newdir|resolv|meminfo/ {print $2}' /proc/mounts";

const bindAt =
  (destination: string, source = "/etc/hostname") =>
  (s: Spec) => {
    s.mounts?.push({ destination, type: "bind", source, options: ["bind"] });
  };

interface Case {
  name: string;
  /** Changes the rootfs copy (its path given) before the run. */
  setup?: (root: string) => void;
  mutate?: (s: Spec) => void;
  /** The mount points the container sees (SHOW), or a refusal with pier's message. */
  expect: string | RegExp;
}

const CASES: Case[] = [
  {
    name: "an absolute symlink resolves from the container root, not from the link's directory",
    setup: (r) => {
      mkdirSync(join(r, "a/etc"), { recursive: true });
      symlinkSync("/etc", join(r, "a/link"));
    },
    mutate: tmpfsAt("/a/link/newdir"),
    expect: "/etc/newdir\n",
  },
  {
    name: "a relative symlink resolves from the link's directory",
    setup: (r) => {
      mkdirSync(join(r, "a/b/etc"), { recursive: true });
      symlinkSync("../../etc", join(r, "a/b/rel"));
    },
    mutate: tmpfsAt("/a/b/rel/newdir"),
    expect: "/etc/newdir\n",
  },
  {
    name: "`..` in a symlink stops at the container root",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync("../../../../../etc", join(r, "a/rel"));
    },
    mutate: tmpfsAt("/a/rel/newdir"),
    expect: "/etc/newdir\n",
  },
  {
    name: "an absolute symlink naming a host path stays inside the rootfs",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync(hostDir, join(r, "a/hostonly"));
    },
    mutate: tmpfsAt("/a/hostonly/newdir"),
    expect: `${hostDir}/newdir\n`,
  },
  {
    name: "a dangling symlink: what it names is created, in the rootfs",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync("../nowhere/y", join(r, "a/dl"));
    },
    mutate: tmpfsAt("/a/dl/x/newdir"),
    expect: "/nowhere/y/x/newdir\n",
  },
  {
    name: "a file bind mount through a dangling symlink (as an image's /etc/resolv.conf)",
    setup: (r) => {
      symlinkSync("../run/sub/resolv.conf", join(r, "etc/resolv.conf"));
    },
    mutate: bindAt("/etc/resolv.conf"),
    expect: "/run/sub/resolv.conf\n",
  },
  {
    name: "a destination that is a symlink to / is refused (it would hide the rootfs)",
    setup: (r) => symlinkSync("/", join(r, "rootlink")),
    mutate: tmpfsAt("/rootlink"),
    expect: /mount destination \/rootlink: resolves to the container root; cannot mount over the root/,
  },
  {
    name: "a destination that is a relative symlink to the root is refused",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync("..", join(r, "a/up"));
    },
    mutate: tmpfsAt("/a/up"),
    expect: /mount destination \/a\/up: resolves to the container root/,
  },
  {
    name: "a symlinked /proc is refused (procfs only on an ordinary directory)",
    setup: (r) => {
      rmdirSync(join(r, "proc"));
      mkdirSync(join(r, "fakeproc"));
      symlinkSync("/fakeproc", join(r, "proc"));
    },
    expect:
      /mount destination \/proc: filesystem "proc" must be mounted on an ordinary directory, not on a symlink/,
  },
  {
    name: "a /proc that is a file is refused",
    setup: (r) => {
      rmdirSync(join(r, "proc"));
      writeFileSync(join(r, "proc"), "");
    },
    expect:
      /mount destination \/proc: filesystem "proc" must be mounted on an ordinary directory, not on a file/,
  },
  {
    name: "a symlinked /sys is refused",
    setup: (r) => {
      rmdirSync(join(r, "sys"));
      mkdirSync(join(r, "fakesys"));
      symlinkSync("fakesys", join(r, "sys"));
    },
    expect: /mount destination \/sys: filesystem "sysfs" must be mounted on an ordinary directory/,
  },
  {
    name: "a bind mount inside /proc is refused (it would cover what the kernel shows)",
    mutate: bindAt("/proc/sys/kernel", "/etc"),
    expect: /mount destination \/proc\/sys\/kernel: cannot be mounted because it is inside \/proc/,
  },
  {
    name: "a bind mount reaching /proc through a symlink is refused",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync("/proc", join(r, "a/p"));
    },
    mutate: bindAt("/a/p/sys", "/etc"),
    expect: /mount destination \/a\/p\/sys: cannot be mounted because it is inside \/proc/,
  },
  {
    name: "a bind mount on a new path under /proc is refused",
    mutate: bindAt("/proc/newthing"),
    expect: /mount destination \/proc\/newthing: cannot be mounted because it is inside \/proc/,
  },
  {
    name: "a bind mount over /proc/meminfo (what lxcfs provides) is allowed",
    mutate: bindAt("/proc/meminfo"),
    expect: "/proc/meminfo\n",
  },
  {
    name: "a symlink loop is refused",
    setup: (r) => {
      mkdirSync(join(r, "a"));
      symlinkSync("l2", join(r, "a/l1"));
      symlinkSync("l1", join(r, "a/l2"));
    },
    mutate: tmpfsAt("/a/l1/newdir"),
    expect: /resolve mount destination \/a\/l1\/newdir: Too many levels of symbolic links/,
  },
];

let n = 0;

/** A copy of the busybox rootfs for one run, changed by `setup`. */
function rootfsCopy(name: string, setup?: (root: string) => void): string {
  const copy = join(tmp, name);
  const r = spawnSync("cp", ["-a", rootfs, copy]);
  assert.equal(r.status, 0, r.stderr?.toString());
  setup?.(copy);
  return copy;
}

for (const c of CASES) {
  test(`runc and pier-runtime agree: ${c.name}`, async () => {
    n += 1;
    const out: Record<string, ReturnType<typeof runtimeCmd>> = {};
    for (const rt of [runc, "pier"]) {
      const tag = rt === "pier" ? "pier" : "runc";
      const root = rootfsCopy(`rootfs-${n}-${tag}`, c.setup);
      const spec = scriptSpec(SHOW, (s) => {
        if (s.root) s.root.readonly = false;
        c.mutate?.(s);
      });
      const dir = await writeBundle(join(tmp, `b${n}-${tag}`), spec, root);
      out[tag] = runtimeCmd(rt, [
        "--root",
        join(tmp, `${tag}-state`),
        "run",
        "--bundle",
        dir,
        `mnt${n}-${process.pid}`,
      ]);
    }
    const [theirs, ours] = [out.runc, out.pier];
    assert.ok(theirs && ours);
    if (typeof c.expect === "string") {
      assert.equal(theirs.status, 0, `runc: ${theirs.stderr}`);
      assert.equal(theirs.stdout, c.expect, "runc's outcome is the one encoded here");
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(ours.stdout, c.expect);
    } else {
      assert.notEqual(theirs.status, 0, `runc accepted it: ${theirs.stdout}`);
      assert.equal(ours.status, 1, `pier accepted it: ${ours.stdout}`);
      assert.equal(ours.stdout, "");
      assert.match(ours.stderr.replaceAll('\\"', '"'), c.expect);
    }
  });
}

test("the host directory a container symlink names is left alone", () => {
  assert.deepEqual(readdirSync(hostDir), []);
});

test("runc and pier-runtime agree: a rootfs path that is or goes through a symlink is refused", async () => {
  symlinkSync(rootfs, join(tmp, "rootfs-link"));
  symlinkSync(tmp, join(tmp, "tmp-link"));
  mkdirSync(join(tmp, "real"));
  for (const [path, ok] of [
    [join(tmp, "rootfs-link"), false],
    [join(tmp, "tmp-link", "rootfs"), false],
    // A lexical `..` after a missing directory: the kernel cannot walk it.
    [join(tmp, "nosuch") + "/../rootfs", false],
    [join(tmp, "real") + "/../rootfs/", true],
  ] as const) {
    n += 1;
    const dir = join(tmp, `b${n}`);
    await writeBundle(dir, scriptSpec("echo ran"), path);
    const id = `mntroot${n}-${process.pid}`;
    const theirs = runtimeCmd(runc, ["--root", join(tmp, "runc-state"), "run", "--bundle", dir, id]);
    const ours = runtimeCmd("pier", ["--root", join(tmp, "pier-state"), "run", "--bundle", dir, id]);
    assert.equal(theirs.status === 0, ok, `runc with ${path}: ${theirs.stderr}`);
    assert.equal(ours.status === 0, ok, `pier with ${path}: ${ours.stderr}`);
    if (ok) assert.equal(ours.stdout, "ran\n");
    else
      assert.match(
        ours.stderr.replaceAll('\\"', '"'),
        /root\.path: rootfs \(".*"\) (is a symlink or goes through one|does not exist)/,
      );
  }
  assert.ok(existsSync(rootfs));
});
