import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IgnoreMatcher } from "./dockerignore.js";

describe(".dockerignore patterns", () => {
  it("follows Docker's rules: parents, **, exceptions, last match wins, cleaning", () => {
    const m = new IgnoreMatcher(
      [
        "# comment",
        "  *.log  ",
        "/build/",
        "**/tmp",
        "docs/**/*.md",
        "!docs/keep.md",
        "node_modules",
        "./a/../secret?",
        "[xy].txt",
      ].join("\n"),
    );
    const want: [string, boolean][] = [
      ["a.log", true],
      ["sub/a.log", false], // `*` never matches `/`
      ["build", true],
      ["build/x/y", true], // a parent directory matches
      ["tmp", true],
      ["a/b/tmp/c", true],
      ["docs/x.md", true],
      ["docs/a/b/y.md", true],
      ["docs/keep.md", false],
      ["node_modules/p/index.js", true],
      ["secret1", true],
      ["secret12", false],
      ["x.txt", true],
      ["z.txt", false],
      ["src/main.ts", false],
    ];
    for (const [path, excluded] of want) assert.equal(m.excludes(path), excluded, path);
  });

  it("re-includes below an excluded directory only through an exception", () => {
    const m = new IgnoreMatcher("dir\n!dir/keep\n");
    assert.equal(m.excludes("dir/other"), true);
    assert.equal(m.excludes("dir/keep"), false);
    assert.equal(m.mayIncludeUnder("dir"), true);
    assert.equal(new IgnoreMatcher("dir\n").mayIncludeUnder("dir"), false);
  });

  it("refuses a lone ! and a broken class, naming the line", () => {
    assert.throws(() => new IgnoreMatcher("a\n!\n"), /\.dockerignore:2: illegal exclusion pattern/);
    assert.throws(
      () => new IgnoreMatcher("[ab\n", ".containerignore"),
      /\.containerignore:1: syntax error in pattern/,
    );
  });
});
