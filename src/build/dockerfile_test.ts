// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile } from "./dockerfile.js";
import { BuildError } from "./error.js";
import { checkInstruction } from "./instructions.js";
import { planStages, targetStage } from "./stages.js";

describe("Dockerfile parser", () => {
  it("joins continuations, skipping comment and empty lines inside them", () => {
    const df = parseDockerfile(
      [
        "FROM busybox",
        "RUN echo a \\",
        "  # a comment inside",
        "",
        "    b \\  ",
        "  c",
        "# trailing",
        "CMD x",
      ].join("\n"),
    );
    assert.deepEqual(
      df.instructions.map((i) => [i.keyword, i.rest, i.line]),
      [
        ["FROM", "busybox", 1],
        ["RUN", "echo a b c", 2],
        ["CMD", "x", 8],
      ],
    );
    assert.ok(df.warnings.some((w) => w.includes("empty continuation line")));
  });

  it("honours the escape directive (backtick) and notes an ignored syntax directive", () => {
    const df = parseDockerfile(
      ["# syntax=docker/dockerfile:1", "# escape=`", "FROM x", "RUN dir c:\\ `", "  /w"].join("\r\n"),
    );
    assert.equal(df.escape, "`");
    assert.equal(df.instructions[1]!.rest, "dir c:\\ /w");
    assert.match(df.warnings[0]!, /syntax=docker\/dockerfile:1 ignored/);
  });

  it("treats a directive after an instruction as a comment, refuses a bad or repeated one", () => {
    const df = parseDockerfile("FROM x\n# escape=`\nRUN a \\\n b");
    assert.equal(df.escape, "\\");
    assert.equal(df.instructions[1]!.rest, "a b");
    assert.throws(
      () => parseDockerfile("# escape=x\nFROM a", "Containerfile"),
      /Containerfile:1: invalid escape token/,
    );
    assert.throws(() => parseDockerfile("# escape=`\n# escape=\\\nFROM a"), /Dockerfile:2: only one escape/);
  });

  it("reads heredocs (several, <<- stripping tabs, quoted words not expanded)", () => {
    const df = parseDockerfile(
      [
        "FROM x",
        "RUN <<EOF",
        "echo $HOME",
        "EOF",
        "COPY <<-'A' <<B /d/",
        "\tone",
        "\tA",
        "two",
        "B",
        "CMD cat <<EOF",
      ].join("\n"),
    );
    const [, run, copy, last] = df.instructions;
    assert.deepEqual(run!.heredocs, [{ name: "EOF", content: "echo $HOME\n", expand: true }]);
    assert.deepEqual(copy!.heredocs, [
      { name: "A", content: "one\n", expand: false },
      { name: "B", content: "two\n", expand: true },
    ]);
    // Only RUN, COPY and ADD take heredocs.
    assert.equal(last!.rest, "cat <<EOF");
    assert.deepEqual(last!.heredocs, []);
    assert.throws(
      () => parseDockerfile("FROM x\nRUN <<EOF\necho\n"),
      /Dockerfile:2: unterminated heredoc <<EOF/,
    );
  });

  it("splits leading flags and recognises the JSON form (falling back to shell form)", () => {
    const df = parseDockerfile(
      'FROM x\nRUN --mount=type=cache,target=/c --network=none ["sh", "-c", "echo hi"]\nCMD [not json\nCOPY --chown="1:2" a b',
    );
    const [, run, cmd, copy] = df.instructions;
    assert.deepEqual(run!.flags, ["mount=type=cache,target=/c", "network=none"]);
    assert.deepEqual(run!.json, ["sh", "-c", "echo hi"]);
    assert.equal(cmd!.json, undefined);
    assert.equal(cmd!.rest, "[not json");
    assert.deepEqual(checkInstruction(copy!, "Dockerfile").options.get("chown"), ["1:2"]);
  });

  it("refuses unknown instructions and flags with the file and line", () => {
    assert.throws(
      () => checkInstruction(parseDockerfile("FROM x\n\nFOO bar").instructions[1]!, "Dockerfile"),
      (e: unknown) =>
        e instanceof BuildError &&
        e.code === "DOCKERFILE_SYNTAX" &&
        /Dockerfile:3: unknown instruction: FOO/.test(e.message),
    );
    assert.throws(
      () => checkInstruction(parseDockerfile("COPY --frm=a b c").instructions[0]!, "D"),
      /D:1: unknown flag: --frm \(COPY\)/,
    );
    assert.throws(
      () => checkInstruction(parseDockerfile("ENV").instructions[0]!, "D"),
      /D:1: ENV requires at least one argument/,
    );
    assert.throws(
      () => checkInstruction(parseDockerfile("ONBUILD FROM x").instructions[0]!, "D"),
      /FROM isn't allowed as an ONBUILD trigger/,
    );
  });
});

describe("stages", () => {
  it("expands ARGs before FROM with build args, names stages, finds targets", () => {
    const df = parseDockerfile(
      "ARG TAG=1\nARG IMG\nFROM base:${TAG} AS One\nFROM one\nRUN x\nFROM ${IMG:-other}",
    );
    const plan = planStages(df, new Map([["TAG", "2"]]));
    assert.deepEqual(
      plan.stages.map((s) => [s.base, s.name, s.baseStage]),
      [
        ["base:2", "one", undefined],
        ["one", undefined, 0],
        ["other", undefined, undefined],
      ],
    );
    assert.equal(targetStage(plan, "ONE").index, 0);
    assert.equal(targetStage(plan).index, 2);
    assert.throws(() => targetStage(plan, "nope"), /target stage "nope" could not be found/);
  });

  it("refuses instructions before FROM and duplicate stage names", () => {
    assert.throws(
      () => planStages(parseDockerfile("RUN x\nFROM a"), new Map()),
      /Dockerfile:1: RUN before the first FROM/,
    );
    assert.throws(
      () => planStages(parseDockerfile("FROM a AS x\nFROM b AS x"), new Map()),
      /Dockerfile:2: duplicate stage name "x"/,
    );
    assert.throws(() => planStages(parseDockerfile("# only a comment\n"), new Map()), /no FROM instruction/);
  });
});
