import assert from "node:assert/strict";
import { test } from "node:test";
import { list, parseArgs, str, UsageError } from "./args.js";

test("runc-style flags: --x v, --x=v, -x v, single-dash long names, booleans, repeats", () => {
  const defs = [
    { names: ["bundle", "b"], value: true },
    { names: ["detach", "d"] },
    { names: ["env", "e"], value: true, repeat: true },
  ];
  const p = parseArgs(["-bundle", "/b", "-d", "--env=A=1", "-e", "B=2", "id"], defs);
  assert.equal(str(p, "bundle"), "/b");
  assert.equal(p.flags.detach, true);
  assert.deepEqual(list(p, "env"), ["A=1", "B=2"]);
  assert.deepEqual(p.positional, ["id"]);
});

test("stopAtPositional keeps the command's own flags", () => {
  const p = parseArgs(["-t", "id", "sh", "-c", "echo"], [{ names: ["tty", "t"] }], true);
  assert.deepEqual(p.positional, ["id", "sh", "-c", "echo"]);
});

test("unknown flags and missing values are usage errors", () => {
  assert.throws(() => parseArgs(["--nope"], []), UsageError);
  assert.throws(() => parseArgs(["--bundle"], [{ names: ["bundle"], value: true }]), /needs an argument/);
});
