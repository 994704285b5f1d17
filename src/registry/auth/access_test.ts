import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessController, globToRegExp } from "./access.js";
import { parseScopes } from "./token.js";

test("globToRegExp: * stays within a component, ** crosses them", () => {
  assert.ok(globToRegExp("team/*").test("team/app"));
  assert.ok(!globToRegExp("team/*").test("team/a/b"));
  assert.ok(globToRegExp("team/**").test("team/a/b"));
  assert.ok(!globToRegExp("a.b").test("axb"));
});

test("AccessController grants per rules, groups and anonymous pull", () => {
  const open = new AccessController();
  assert.ok(open.can("anyone", "x", "delete"));
  assert.ok(!open.can(undefined, "x", "pull"));
  const ac = new AccessController({
    anonymousPull: true,
    groups: { devs: ["alice"] },
    rules: [
      { repositories: ["team/**"], groups: ["devs"], actions: ["pull", "push"] },
      { repositories: ["**"], users: ["admin"], actions: ["pull", "push", "delete"] },
      { repositories: ["public/*"], users: ["*"], actions: ["pull"] },
    ],
  });
  assert.deepEqual([...ac.allowed("alice", "team/app")].sort(), ["pull", "push"]);
  assert.ok(!ac.can("alice", "other", "push"));
  assert.ok(ac.can("admin", "other", "delete"));
  assert.ok(ac.can("bob", "public/x", "pull"));
  assert.ok(!ac.can("bob", "public/x", "push"));
  assert.ok(ac.can(undefined, "anything", "pull"));
  assert.ok(!ac.can(undefined, "anything", "push"));
});

test("parseScopes reads Docker token scopes", () => {
  assert.deepEqual(parseScopes(["repository:a/b:pull,push", "registry:catalog:* bad"]), [
    { type: "repository", name: "a/b", actions: ["pull", "push"] },
    { type: "registry", name: "catalog", actions: ["*"] },
  ]);
  assert.deepEqual(parseScopes(["repository:localhost:5000/a:pull"]), [
    { type: "repository", name: "localhost:5000/a", actions: ["pull"] },
  ]);
});
