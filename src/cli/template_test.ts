import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTemplate, renderRows, TemplateError } from "./template.js";

const c = {
  ID: "abc",
  Name: "web",
  State: { Status: "running", Paused: false },
  Labels: { a: "1" },
  Ports: [1, 2],
};

test("fields, nested fields, dot and missing values", () => {
  assert.equal(parseTemplate("{{.Name}} {{.State.Status}}").render(c), "web running");
  assert.equal(parseTemplate("{{.}}").render("x"), "x");
  assert.equal(parseTemplate("{{.Nope}}").render(c), "<no value>");
  assert.equal(parseTemplate("{{.State.Paused}}").render(c), "false");
});

test("functions: json, upper, lower, len, index, pipes", () => {
  assert.equal(parseTemplate("{{json .Labels}}").render(c), '{"a":"1"}');
  assert.equal(parseTemplate("{{json .}}").render({ a: [1] }), '{"a":[1]}');
  assert.equal(parseTemplate("{{upper .Name}}").render(c), "WEB");
  assert.equal(parseTemplate("{{.Name | upper}}").render(c), "WEB");
  assert.equal(parseTemplate("{{lower .ID}}").render({ ID: "AB" }), "ab");
  assert.equal(parseTemplate("{{len .Ports}}").render(c), "2");
  assert.equal(parseTemplate('{{index .Labels "a"}}').render(c), "1");
});

test("range and if/else", () => {
  assert.equal(parseTemplate("{{range .Ports}}<{{.}}>{{end}}").render(c), "<1><2>");
  assert.equal(parseTemplate("{{if .State.Paused}}P{{else}}R{{end}}").render(c), "R");
  assert.equal(parseTemplate("{{if .Name}}named{{end}}").render(c), "named");
});

test("table prefix: header from field names, aligned columns, escapes", () => {
  const out = renderRows("table {{.ID}}\\t{{.Name}}", [
    { ID: "a", Name: "first" },
    { ID: "longer-id", Name: "x" },
  ]);
  assert.equal(out, "ID          NAME\na           first\nlonger-id   x\n");
  assert.equal(renderRows("{{.ID}}\\t{{.Name}}", [{ ID: "a", Name: "b" }]), "a\tb\n");
  assert.equal(parseTemplate("table {{.CPUPerc}}").header(), "CPU PERC");
});

test("malformed templates are refused by name", () => {
  assert.throws(() => parseTemplate("{{.Name"), TemplateError);
  assert.throws(() => parseTemplate("{{range .X}}"), /range without end|missing/);
  assert.throws(() => parseTemplate("{{end}}"), /unexpected/);
  assert.throws(() => parseTemplate("{{nosuch .X}}").render(c), /function "nosuch" not defined/);
});
