import assert from "node:assert/strict";
import { test } from "node:test";
import { logOptionsFromDocker, withLogConfig } from "../api/docker-tty.js";
import { execConfigFromQuery, exitFrame } from "../api/pier-tty.js";
import { execTerminal } from "../exec.js";
import { monitorOptionArgs, resizeLine } from "./monitor.js";
import { consoleSocketPath, controlFifoPath, terminalFiles } from "./terminal.js";

const id = "0123456789abcdef".repeat(4);

test("terminal files exist only with tty; their paths stay short enough for a unix socket", () => {
  assert.deepEqual(terminalFiles("/run/pier", id, {}), {});
  assert.deepEqual(terminalFiles("/run/pier", id, { tty: true }), {
    consoleSocket: "/run/pier/a/0123456789abcdef.con",
    controlFifo: "/run/pier/a/0123456789abcdef.ctl",
  });
  assert.notEqual(consoleSocketPath("/r", id), controlFifoPath("/r", id));
  const x = execTerminal("/run/pier", id);
  assert.equal(x.consoleSocket, "/run/pier/a/x0123456789abcde.con");
  assert.ok(x.consoleSocket.length < 108);
});

test("monitor flags: attach, console, control, rotation only with a size", () => {
  assert.deepEqual(monitorOptionArgs({}), []);
  assert.deepEqual(
    monitorOptionArgs({
      attachSocket: "/a",
      consoleSocket: "/c",
      controlFifo: "/w",
      maxSize: 1000,
      maxFiles: 3,
    }),
    ["-a", "/a", "-c", "/c", "-w", "/w", "-m", "1000", "-n", "3"],
  );
  assert.deepEqual(monitorOptionArgs({ maxFiles: 3 }), []);
  assert.equal(resizeLine(24, 80), "resize 24 80\n");
  assert.throws(() => resizeLine(-1, 80), /invalid terminal size/);
  assert.throws(() => resizeLine(24, 70000), /invalid terminal size/);
});

test("Docker's LogConfig in and out; pier's exec query and exit frame", () => {
  assert.equal(logOptionsFromDocker({ HostConfig: {} }), undefined);
  assert.equal(logOptionsFromDocker({ HostConfig: { LogConfig: { Type: "", Config: {} } } }), undefined);
  assert.deepEqual(
    logOptionsFromDocker({ HostConfig: { LogConfig: { Type: "json-file", Config: { "max-size": "1m" } } } }),
    { "max-size": "1m" },
  );
  assert.throws(
    () => logOptionsFromDocker({ HostConfig: { LogConfig: { Type: "journald" } } }),
    /not supported/,
  );
  assert.deepEqual(withLogConfig({ HostConfig: {} }, { logOptions: { "max-file": "2" } }), {
    HostConfig: { LogConfig: { Type: "json-file", Config: { "max-file": "2" } } },
  });
  const q = new URLSearchParams("cmd=sh&cmd=-c&cmd=true&env=A=1&tty=1&stdin=1&workdir=/w&user=u");
  assert.deepEqual(execConfigFromQuery(q), {
    cmd: ["sh", "-c", "true"],
    env: ["A=1"],
    user: "u",
    workingDir: "/w",
    tty: true,
    attachStdin: true,
  });
  assert.throws(() => execConfigFromQuery(new URLSearchParams("tty=1")), /cmd is required/);
  assert.deepEqual([...exitFrame(3).subarray(0, 8)], [3, 0, 0, 0, 0, 0, 0, 14]);
  assert.equal(exitFrame(3).subarray(8).toString(), '{"exitCode":3}');
});
