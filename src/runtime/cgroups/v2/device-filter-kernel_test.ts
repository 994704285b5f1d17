/**
 * Loads the compiled device filter into the real kernel and attaches it to a real cgroup v2
 * directory, then checks that a process there cannot open /dev/null. Node cannot call bpf(2),
 * so this test loads through python3's ctypes, passed to `openCgroup` as its
 * `deviceFilterLoader` (in production the native helper plays that part).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { LinuxDeviceCgroup } from "../../../oci/runtime-spec/resources.js";
import { makeTempDir, removeTempDir } from "../../../testing/busybox.js";
import {
  disposeTree,
  requireRoot,
  startGated,
  uniqueParent,
  v2Layout,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { BPF_CGROUP_DEVICE, BPF_PROG_TYPE_CGROUP_DEVICE, DEVICE_FILTER_LICENSE } from "./device-filter.js";

const LOADER = `
import ctypes, os, struct, sys
prog = open(sys.argv[1], "rb").read()
cgdir = sys.argv[2]
nr = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
insns = ctypes.create_string_buffer(prog, len(prog))
lic = ctypes.create_string_buffer(sys.argv[3].encode())
log = ctypes.create_string_buffer(1 << 16)
attr = struct.pack("=IIQQIIQII16sII", int(sys.argv[4]), len(prog) // 8, ctypes.addressof(insns),
                   ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, 0, b"pier_devices", 0, 0)
buf = ctypes.create_string_buffer(attr.ljust(256, b"\\0"), 256)
fd = libc.syscall(nr, 5, buf, 256)  # BPF_PROG_LOAD
if fd < 0:
    sys.exit("BPF_PROG_LOAD: %s\\n%s" % (os.strerror(ctypes.get_errno()), log.value.decode()))
cg = os.open(cgdir, os.O_RDONLY | os.O_DIRECTORY)
attach = ctypes.create_string_buffer(struct.pack("=IIIII", cg, fd, int(sys.argv[5]), 0, 0).ljust(256, b"\\0"), 256)
if libc.syscall(nr, 8, attach, 256) < 0:  # BPF_PROG_ATTACH
    sys.exit("BPF_PROG_ATTACH: %s" % os.strerror(ctypes.get_errno()))
`;

function python(): string {
  for (const p of ["/usr/bin/python3", "/usr/local/bin/python3"]) if (existsSync(p)) return p;
  try {
    return execFileSync("sh", ["-c", "command -v python3"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("python3 is missing (the BPF loader of this test): apt-get install -y python3");
  }
}

describe("device filter in the kernel", async () => {
  const layout = await v2Layout();
  const parent = uniqueParent("bpf");
  const tmp = await makeTempDir("pier-cg-bpf-");
  after(async () => {
    if (layout) await disposeTree(parent, { layout });
    await removeTempDir(tmp);
  });

  // The loader the native helper will provide, played here by python3.
  let loads = 0;
  const loader = async (dir: string, program: Buffer) => {
    const progFile = join(tmp, `prog-${loads++}.bpf`);
    await writeFile(progFile, program);
    execFileSync(python(), [
      "-c",
      LOADER,
      progFile,
      dir,
      DEVICE_FILTER_LICENSE,
      String(BPF_PROG_TYPE_CGROUP_DEVICE),
      String(BPF_CGROUP_DEVICE),
    ]);
  };

  const attempt = async (name: string, devices: LinuxDeviceCgroup[]) => {
    const cg = await openCgroup({
      containerId: "b",
      cgroupsPath: `${parent}/${name}`,
      layout: layout!,
      delegateControllers: false,
      deviceFilterLoader: loader,
    });
    await cg.create();
    await cg.apply({ devices });
    assert.deepEqual(cg.notes, []);
    const p = startGated("echo x > /dev/null");
    await cg.addProcess(p.pid);
    p.release();
    return p.exited;
  };

  it("is accepted by the verifier and denies /dev/null when not listed", {
    skip: !layout && "no cgroup2 mount",
  }, async () => {
    requireRoot();
    const denied = await attempt("deny", [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 5 },
    ]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /not permitted/i);
  });

  it("allows /dev/null when listed", { skip: !layout && "no cgroup2 mount" }, async () => {
    requireRoot();
    const allowed = await attempt("allow", [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});
