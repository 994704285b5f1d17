import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { GrpcStatus } from "./error.js";
import { type ConnectionServer, listenLazily } from "./lazy-socket.js";

const dir = mkdtempSync(join(tmpdir(), "pier-lazy-socket-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Sends `text` and resolves with everything the server answers until the connection closes
 * (a server that closes it at once may make the send fail: that is not the answer's concern).
 */
function exchange(path: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(path, () => c.end(text));
    let got = "";
    c.on("data", (d: Buffer) => {
      got += d.toString();
    });
    c.on("error", () => {});
    c.on("close", () => resolve(got));
  });
}

/** A server that answers each connection with what it read, upper-cased. */
function upperServer(): ConnectionServer & { accepted: number } {
  const open = new Set<Socket>();
  const s = {
    accepted: 0,
    accept(c: Socket) {
      s.accepted++;
      open.add(c);
      let got = "";
      c.on("data", (d: Buffer) => {
        got += d.toString();
      });
      c.on("end", () => c.end(got.toUpperCase()));
      c.on("close", () => open.delete(c));
      c.resume();
    },
    async close() {
      for (const c of open) c.destroy();
    },
  };
  return s;
}

test("the server loads once, at the first connection, and gets every byte sent while it loaded", async () => {
  const path = join(dir, "a.sock");
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const server = upperServer();
  const lazy = await listenLazily(path, async () => {
    loads++;
    await gate;
    return server;
  });
  try {
    assert.equal((statSync(path).mode & 0o777).toString(8), "660");
    assert.equal(loads, 0);
    assert.equal(lazy.loaded(), false);
    // Two clients connect and send before the server exists.
    const first = exchange(path, "first call");
    const second = exchange(path, "second call");
    const deadline = Date.now() + 10_000;
    while (loads === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(loads, 1);
    release();
    assert.deepEqual(await Promise.all([first, second]), ["FIRST CALL", "SECOND CALL"]);
    assert.equal(await exchange(path, "later"), "LATER");
    assert.equal(loads, 1);
    assert.equal(server.accepted, 3);
    assert.equal(lazy.loaded(), true);
  } finally {
    await lazy.close();
  }
});

test("a server that fails to load closes the waiting connections, and the next connection tries again", async () => {
  const path = join(dir, "b.sock");
  let loads = 0;
  const logged: string[] = [];
  const lazy = await listenLazily(
    path,
    async () => {
      if (++loads === 1) throw new Error("cannot load");
      return upperServer();
    },
    { log: (msg, fields) => logged.push(`${msg}: ${String(fields?.["error"])}`) },
  );
  try {
    assert.equal(await exchange(path, "x"), "");
    assert.deepEqual(logged, ["CRI server failed to load: cannot load"]);
    assert.equal(await exchange(path, "again"), "AGAIN");
    assert.equal(loads, 2);
  } finally {
    await lazy.close();
  }
});

test("the CRI's gRPC status numbers are grpc-js's", () => {
  for (const [name, code] of Object.entries(GrpcStatus)) {
    assert.equal(code, status[name as keyof typeof status], name);
  }
});
