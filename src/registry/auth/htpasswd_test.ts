import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { startTestRegistry, type TestRegistry } from "../../testing/registry.js";
import { BcryptPool } from "./bcrypt-pool.js";
import { Htpasswd, htpasswdSet, parseHtpasswd } from "./htpasswd.js";

let dir: string;
let file: string;
before(async () => {
  dir = await makeTempDir("pier-htpasswd-");
  file = join(dir, "htpasswd");
  await htpasswdSet(file, "alice", "alice-pw");
});
after(() => removeTempDir(dir));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A GET from a chosen loopback source address, so that a test can be several clients; status and ms. */
function getFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number; retryAfter: string | undefined }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          retryAfter: res.headers["retry-after"],
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const basic = (user: string, pw: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`,
});

describe("Htpasswd", () => {
  test("an unknown user takes as long as a known one with a wrong password", async (ctx) => {
    const pw = Htpasswd.load(file);
    try {
      await pw.verify("nobody", "warm-up"); // makes the dummy hash and starts the worker
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 8; i++) {
        let t = performance.now();
        assert.equal(await pw.verify("alice", `wrong-${i}`), false);
        known.push(performance.now() - t);
        t = performance.now();
        assert.equal(await pw.verify(`nobody-${i}`, `wrong-${i}`), false);
        unknown.push(performance.now() - t);
      }
      const ratio = median(unknown) / median(known);
      ctx.diagnostic(
        `wrong password: known user ${median(known).toFixed(1)} ms, unknown user ${median(unknown).toFixed(1)} ms (medians of 8)`,
      );
      assert.ok(median(known) > 10, `a bcrypt compare ran (${median(known).toFixed(1)} ms)`);
      assert.ok(
        ratio > 0.7 && ratio < 1.4,
        `unknown/known = ${ratio.toFixed(2)} (${median(unknown).toFixed(1)} ms / ${median(known).toFixed(1)} ms)`,
      );
      // The right password is remembered: the next check costs no bcrypt.
      assert.equal(await pw.verify("alice", "alice-pw"), true);
      const t = performance.now();
      assert.equal(await pw.verify("alice", "alice-pw"), true);
      assert.ok(performance.now() - t < 5);
      assert.equal(pw.isRemembered("alice", "wrong-0"), false, "failures are never remembered");
    } finally {
      await pw.close();
    }
  });

  test("bcrypt runs off the event loop: the main thread stays mostly idle during 16 compares", async () => {
    const pw = Htpasswd.load(file, new BcryptPool({ size: 1 }));
    try {
      await pw.verify("alice", "warm-up"); // starts the worker
      const started = performance.now();
      const before = performance.eventLoopUtilization();
      await Promise.all(Array.from({ length: 16 }, (_, i) => pw.verify("alice", `guess-${i}`)));
      const busy = performance.eventLoopUtilization(before).utilization;
      const ms = performance.now() - started;
      assert.ok(ms > 16 * 20, `the compares really ran bcrypt (${ms.toFixed(0)} ms)`);
      // bcryptjs on the main thread keeps it busy the whole time (utilization near 1).
      assert.ok(busy < 0.3, `event loop busy ${(busy * 100).toFixed(0)}% of ${ms.toFixed(0)} ms`);
    } finally {
      await pw.close();
    }
  });

  test("concurrent checks of the same credentials share one bcrypt compare", async () => {
    const pw = Htpasswd.load(file, new BcryptPool({ size: 1 }));
    try {
      await pw.verify("alice", "warm-up");
      let t = performance.now();
      assert.equal(await pw.verify("alice", "wrong"), false);
      const one = performance.now() - t;
      t = performance.now();
      // A push opening 16 connections with fresh credentials at once.
      const all = await Promise.all(Array.from({ length: 16 }, () => pw.verify("alice", "alice-pw")));
      const sixteen = performance.now() - t;
      assert.deepEqual(new Set(all), new Set([true]));
      assert.ok(sixteen < one * 4, `16 at once took ${sixteen.toFixed(0)} ms, one ${one.toFixed(0)} ms`);
    } finally {
      await pw.close();
    }
  });

  test("a full queue is refused with TOOMANYREQUESTS, not queued without bound", async () => {
    const pool = new BcryptPool({ size: 1, maxQueued: 2 });
    const hash = parseHtpasswd(await readFile(file, "utf8")).get("alice")!;
    try {
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => pool.compare("x", hash)));
      const refused = results.filter((r) => r.status === "rejected");
      assert.ok(refused.length >= 3, `${refused.length} refused`);
      assert.match(String((refused[0] as PromiseRejectedResult).reason), /too many logins waiting/);
    } finally {
      await pool.close();
    }
  });
});

describe("failed logins against a running registry", () => {
  let t: TestRegistry;
  after(() => t?.stop());

  test("32 clients guessing passwords do not stall a good client", async (ctx) => {
    t = await startTestRegistry((c) => {
      c.auth = { mode: "basic", htpasswd: file, loginFailures: { perMinute: 0, burst: 0 } };
    });
    const good = basic("alice", "alice-pw");
    assert.equal((await getFrom(`${t.url}/v2/`, "127.0.0.1", good)).status, 200);
    let stop = false;
    let guesses = 0;
    const attacker = async (n: number) => {
      while (!stop) {
        const r = await getFrom(
          `${t.url}/v2/`,
          "127.0.0.2",
          basic(n % 2 ? "alice" : `nobody${n}`, `guess${guesses++}`),
        );
        assert.ok(r.status === 401 || r.status === 429, String(r.status));
      }
    };
    const attackers = Array.from({ length: 32 }, (_, n) => attacker(n));
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await getFrom(`${t.url}/v2/`, "127.0.0.1", good);
      assert.equal(r.status, 200);
      latencies.push(r.ms);
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await Promise.all(attackers);
    const worst = Math.max(...latencies);
    ctx.diagnostic(
      `good client during the attack: median ${median(latencies).toFixed(1)} ms, worst ${worst.toFixed(1)} ms; ${guesses} guesses`,
    );
    assert.ok(guesses > 10, `the attack ran (${guesses} guesses)`);
    assert.ok(
      worst < 250,
      `good client worst ${worst.toFixed(1)} ms, median ${median(latencies).toFixed(1)} ms`,
    );
    await t.stop();
  });

  test("a client past its failed-login budget gets 429 with Retry-After before any bcrypt", async () => {
    t = await startTestRegistry((c) => {
      c.auth = { mode: "basic", htpasswd: file, loginFailures: { perMinute: 6, burst: 3 } };
    });
    const good = basic("alice", "alice-pw");
    // Remembered credentials of the same address keep working while it is blocked.
    assert.equal((await getFrom(`${t.url}/v2/`, "127.0.0.2", good)).status, 200);
    const statuses: number[] = [];
    let blocked: Awaited<ReturnType<typeof getFrom>> | undefined;
    for (let i = 0; i < 6; i++) {
      const r = await getFrom(`${t.url}/v2/`, "127.0.0.2", basic("alice", `guess${i}`));
      statuses.push(r.status);
      if (r.status === 429) blocked = r;
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
    assert.ok(blocked!.ms < 20, `refused without bcrypt (${blocked!.ms.toFixed(1)} ms)`);
    assert.ok(Number(blocked!.retryAfter) >= 1 && Number(blocked!.retryAfter) <= 10, blocked!.retryAfter);
    assert.equal((await getFrom(`${t.url}/v2/`, "127.0.0.2", good)).status, 200);
    assert.equal(
      (await getFrom(`${t.url}/v2/`, "127.0.0.1", basic("alice", "x"))).status,
      401,
      "another client",
    );
  });
});
