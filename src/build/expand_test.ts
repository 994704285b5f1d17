// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expandWord, expandWords, splitRawWords } from "./expand.js";

const vars = new Map([
  ["A", "alpha"],
  ["E", ""],
  ["S", "one two"],
]);
const lookup = (n: string) => vars.get(n);

describe("variable expansion", () => {
  it("expands $VAR, ${VAR} and the modifiers as Docker does", () => {
    const cases: [string, string][] = [
      ["$A/${A}x", "alpha/alphax"],
      ["${U:-dflt}|${E:-dflt}|${E-dflt}|${A:-dflt}", "dflt|dflt||alpha"],
      ["${U:+set}|${E:+set}|${E+set}|${A:+set}", "||set|set"],
      ["${U:-${A}}", "alpha"],
      ["$U.", "."],
      ["a$", "a$"],
      ["'$A' \"$A\" \\$A", "$A alpha $A"],
      ['"a\\"b\\\\c\\d"', 'a"b\\c\\d'],
    ];
    for (const [input, want] of cases) assert.equal(expandWord(input, lookup), want, input);
  });

  it("refuses an unset ${VAR:?} and unsupported modifiers with a message", () => {
    assert.throws(() => expandWord("${U:?must be set}", lookup), /U: must be set/);
    assert.throws(() => expandWord("${A#al}", lookup), /unsupported modifier \(#\)/);
    assert.throws(() => expandWord("'open", lookup), /matching single-quote/);
  });

  it("splits unquoted values into words, keeps quoted ones and empty quotes", () => {
    assert.deepEqual(expandWords("$S \"$S\" '' x\\ y", lookup), ["one", "two", "one two", "", "x y"]);
    assert.deepEqual(expandWords("a `$A", lookup, "`"), ["a", "$A"]);
  });

  it("splits ENV-style words without unquoting", () => {
    assert.deepEqual(splitRawWords('A=1 B="x y" C=a\\ b'), ["A=1", 'B="x y"', "C=a\\ b"]);
  });
});
