/**
 * `pier run` in the foreground is one request to pierd (`POST /v1/containers/{ref}/run`: start,
 * output until the exit, removal with `remove=1`, the exit code last): what the CLI shows and
 * leaves behind, and what the daemon does when the client goes away.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { docker, ok, pier, until, useTestDaemon } from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";

const fx = useTestDaemon({ pull: true });

/** Sends one request to pierd's own API; resolves with the status and the body once it ended. */
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const r = await socketRequest(
    fx.d.socket,
    method,
    path,
    data,
    data ? { "Content-Type": "application/json" } : undefined,
  );
  return { status: r.status, text: r.body };
}

const exists = async (name: string) =>
  (await ok(docker(fx.d, ["ps", "-aq", "--filter", `name=^${name}$`]))) !== "";

test("pier run: stdout and stderr apart, the exit code; --rm leaves nothing when it returns, without it the container stays", async () => {
  const rm = await pier(fx.d, [
    "run",
    "--rm",
    "--name",
    "rr-rm",
    fx.reg.image,
    "sh",
    "-c",
    "echo out; echo err >&2; exit 7",
  ]);
  assert.equal(rm.status, 7, rm.stderr);
  assert.equal(rm.stdout, "out\n");
  assert.equal(rm.stderr, "err\n");
  assert.equal(await exists("rr-rm"), false, "removed by the time pier run returned");
  const kept = await pier(fx.d, ["run", "--name", "rr-kept", fx.reg.image, "sh", "-c", "echo kept; exit 3"]);
  assert.equal(kept.status, 3, kept.stderr);
  assert.equal(kept.stdout, "kept\n");
  assert.equal(
    await ok(docker(fx.d, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "rr-kept"])),
    "exited 3",
  );
  await ok(docker(fx.d, ["rm", "rr-kept"]));
});

test("the run request streams the output, ends with the exit code, and with remove=1 removes the container first", async () => {
  const created = await api("POST", "/v1/containers", {
    image: fx.reg.image,
    cmd: ["sh", "-c", "echo one; echo two >&2; exit 9"],
    clientRemoves: true,
  });
  assert.equal(created.status, 201, created.text);
  const { id } = JSON.parse(created.text) as { id: string };
  const run = await api("POST", `/v1/containers/${id}/run?remove=1`);
  assert.equal(run.status, 200, run.text);
  const lines = run.text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.slice(0, -1).map((l) => [l.stream, l.log]),
    [
      ["stdout", "one\n"],
      ["stderr", "two\n"],
    ],
  );
  assert.deepEqual(lines.at(-1), { exit: { exitCode: 9, error: null } });
  assert.equal((await api("GET", `/v1/containers/${id}`)).status, 404, "removed before the last line");
  // A start that fails answers with start's error; remove=1 removed the container.
  const bad = await api("POST", "/v1/containers", {
    image: fx.reg.image,
    cmd: ["/nope"],
    clientRemoves: true,
  });
  const badId = (JSON.parse(bad.text) as { id: string }).id;
  const failed = await api("POST", `/v1/containers/${badId}/run?remove=1`);
  assert.notEqual(failed.status, 200);
  assert.match(failed.text, /no such file or directory/);
  assert.equal((await api("GET", `/v1/containers/${badId}`)).status, 404);
});

test("a run request whose client went away leaves the container running; remove=1 still removes it once it exits", async () => {
  const created = await api("POST", "/v1/containers", {
    image: fx.reg.image,
    name: "rr-gone",
    cmd: ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 2"],
    clientRemoves: true,
  });
  const { id } = JSON.parse(created.text) as { id: string };
  await new Promise<void>((resolve, reject) => {
    const req = request(
      { socketPath: fx.d.socket, method: "POST", path: `/v1/containers/${id}/run?remove=1` },
      (res) => {
        assert.equal(res.statusCode, 200);
        // Started: the client goes away.
        req.destroy();
        resolve();
      },
    );
    req.on("error", () => {});
    req.on("close", () => resolve());
    req.end();
    setTimeout(() => reject(new Error("no answer from the run request")), 30000).unref();
  });
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.Running}}", "rr-gone"])), "true");
  await ok(docker(fx.d, ["exec", "rr-gone", "touch", "/tmp/go"]));
  await until(
    () => exists("rr-gone"),
    (there) => !there,
    "rr-gone removed after its exit",
  );
});
