import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { buildProgram } from "./program.js";
import { programFor } from "./run.js";

const PIER = join(dirname(fileURLToPath(import.meta.url)), "pier.js");

function pier(root: string, ...args: string[]) {
  return spawnSync(process.execPath, [PIER, "--root", root, ...args], { encoding: "utf8" });
}

function allCommands(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...allCommands(c, [...prefix, c.name()])]);
}

describe("pier CLI", () => {
  let tmp: string;
  let root: string;

  before(async () => {
    tmp = await makeTempDir();
    root = join(tmp, "root");
    await writeBusyboxRootfs(join(tmp, "rootfs"));
  });
  after(() => removeTempDir(tmp));

  it("answers --help on every command with exit 0", () => {
    const commands = allCommands(buildProgram());
    assert.ok(commands.length >= 10);
    for (const c of [[], ...commands]) {
      const r = pier(root, ...c, "--help");
      assert.equal(r.status, 0, `pier ${c.join(" ")} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: pier/);
    }
  });

  it("builds, for one command, the same command tree as the whole program has for it", () => {
    const whole = buildProgram();
    const helpOf = (cmd: Command, path: string[]): string => {
      let c: Command | undefined = cmd;
      for (const n of path) c = c?.commands.find((x) => x.name() === n);
      assert.ok(c, path.join(" "));
      return c.helpInformation();
    };
    const tops = whole.commands.map((c) => c.name());
    assert.ok(tops.includes("run") && tops.includes("image") && tops.includes("container"));
    for (const top of tops) {
      const part = buildProgram([top, "--help"]);
      assert.ok(part.commands.length < whole.commands.length, `only what ${top} needs is built`);
      for (const path of [[top], ...allCommands(whole).filter((p) => p[0] === top)])
        assert.equal(helpOf(part, path), helpOf(whole, path), `pier ${path.join(" ")}`);
    }
    // A leading option or an unknown name gets the whole tree (help, suggestions).
    assert.equal(buildProgram(["--root", "/x", "run"]).commands.length, whole.commands.length);
    assert.equal(buildProgram(["nope"]).commands.length, whole.commands.length);
  });

  it("gives `pier registry …` a tree of its own command only, with the same help as the whole program's", async () => {
    const whole = buildProgram();
    const own = await programFor(["registry", "serve"]);
    assert.deepEqual(
      own.commands.map((c) => c.name()),
      ["registry"],
    );
    for (const path of allCommands(whole).filter((p) => p[0] === "registry")) {
      let a: Command | undefined = whole;
      let b: Command | undefined = own;
      for (const n of path) {
        a = a?.commands.find((x) => x.name() === n);
        b = b?.commands.find((x) => x.name() === n);
      }
      assert.ok(a && b, path.join(" "));
      assert.equal(b.helpInformation(), a.helpInformation(), `pier ${path.join(" ")}`);
    }
    // What it is for: the process of `pier registry serve` holds less heap than with the whole tree.
    const heapAfter = (argv: string[]): number => {
      const script = `const { programFor } = await import(${JSON.stringify(new URL("./run.js", import.meta.url).href)});
        await programFor(${JSON.stringify(argv)});
        globalThis.gc(); globalThis.gc();
        console.log(process.memoryUsage().heapUsed);`;
      const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout);
    };
    const registryOnly = heapAfter(["registry", "serve"]);
    const wholeTree = heapAfter(["image", "ls"]);
    assert.ok(
      registryOnly + (1 << 20) < wholeTree,
      `heap ${registryOnly} vs ${wholeTree} with every command`,
    );
  });

  it("refuses an unknown flag with exit 2 and names it", () => {
    const r = pier(root, "image", "ls", "--bogus");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });

  it("reports a missing image with exit 3", () => {
    const r = pier(root, "image", "inspect", "nope:1");
    assert.equal(r.status, 3);
    assert.match(r.stderr, /no such image: nope:1/);
  });

  it("creates, lists, inspects as JSON, exports, imports and unpacks an image", () => {
    let r = pier(
      root,
      "image",
      "create",
      join(tmp, "rootfs"),
      "--tag",
      "bb:cli",
      "--cmd",
      '["echo","hi"]',
      "--env",
      "A=B",
    );
    assert.equal(r.status, 0, r.stderr);
    r = pier(root, "image", "ls", "--format", "json");
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string }[];
    assert.deepEqual(
      rows.map((x) => x.name),
      ["docker.io/library/bb:cli"],
    );
    r = pier(root, "image", "inspect", "bb:cli", "--format", "json");
    const info = JSON.parse(r.stdout) as { config: { config: { Cmd: string[]; Env: string[] } } };
    assert.deepEqual(info.config.config.Cmd, ["echo", "hi"]);
    assert.ok(info.config.config.Env.includes("A=B"));
    const archive = join(tmp, "bb.tar");
    assert.equal(pier(root, "image", "export", "bb:cli", archive).status, 0);
    const other = join(tmp, "root2");
    r = pier(other, "image", "import", archive);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Loaded image: docker.io\/library\/bb:cli/);
    r = pier(other, "image", "unpack", "bb:cli", join(tmp, "bundle"));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(tmp, "bundle/config.json")));
    assert.ok(existsSync(join(tmp, "bundle/rootfs/bin/busybox")));
  });

  it("refuses a broken archive with a clear error and imports nothing", async () => {
    const { writeFile } = await import("node:fs/promises");
    const bad = join(tmp, "bad.tar");
    await writeFile(bad, "this is not a tar file at all".repeat(40));
    const empty = join(tmp, "root3");
    const r = pier(empty, "image", "import", bad);
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.length > 0);
    assert.equal(pier(empty, "image", "ls", "-q").stdout, "");
  });
});
