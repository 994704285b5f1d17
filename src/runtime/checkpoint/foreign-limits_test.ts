import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { foreignProcess, hasSysResource, idsOf, limitsReadable } from "./foreign-limits.js";

const status = (uid: string, gid: string, capEff: string) =>
  `Name:\tx\nUid:\t${uid}\nGid:\t${gid}\nCapEff:\t${capEff}\n`;

test("prlimit's rule: the same real/effective/saved ids, or CAP_SYS_RESOURCE", () => {
  const rootNoRes = status("0\t0\t0\t0", "0\t0\t0\t0", "000001fffeffffff");
  const rootRes = status("0\t0\t0\t0", "0\t0\t0\t0", "000001ffffffffff");
  assert.equal(hasSysResource(rootNoRes), false);
  assert.equal(hasSysResource(rootRes), true);
  assert.deepEqual(idsOf(status("100\t101\t102\t103", "0\t0\t0\t0", "0"), "Uid"), ["100", "101", "102"]);
  const dbus = status("100\t100\t100\t100", "101\t101\t101\t101", "0");
  assert.equal(limitsReadable(rootNoRes, dbus), false);
  assert.equal(limitsReadable(rootRes, dbus), true);
  assert.equal(limitsReadable(rootNoRes, status("0\t0\t0\t0", "0\t0\t0\t0", "0")), true);
  // A saved uid of another user is enough to refuse (setuid programs that dropped privileges).
  assert.equal(limitsReadable(rootNoRes, status("0\t0\t100\t0", "0\t0\t0\t0", "0")), false);
});

test("foreignProcess finds a process of another user in a PID namespace, unless this process may read it", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root");
  // A new PID namespace with a process that becomes uid/gid 65534, as a guest's service does.
  const child = spawn(
    "unshare",
    [
      "--pid",
      "--fork",
      "--mount-proc",
      "sh",
      "-c",
      "setpriv --reuid 65534 --regid 65534 --clear-groups sleep 30 & wait",
    ],
    {
      stdio: "ignore",
    },
  );
  try {
    const deadline = Date.now() + 10_000;
    let found: ReturnType<typeof foreignProcess>;
    const own = readFileSync("/proc/self/status", "utf8");
    const initPid = await (async () => {
      for (;;) {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim();
        if (kids) return Number(kids.split(" ")[0]);
        if (Date.now() > deadline) throw new Error("unshare's child did not start");
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (;;) {
      found = foreignProcess(initPid);
      if (found || Date.now() > deadline || hasSysResource(own)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (hasSysResource(own))
      assert.equal(found, undefined, "with CAP_SYS_RESOURCE every process is readable");
    else {
      assert.equal(found?.comm, "sleep");
      assert.equal(found?.uids, "65534 65534 65534");
    }
  } finally {
    child.kill("SIGKILL");
  }
});
