import assert from "node:assert/strict";
import { test } from "node:test";
import { RegistryMetrics } from "./metrics.js";

test("metrics render Prometheus' text format: counters by label, cumulative histogram buckets, sum and count", () => {
  let open = 3;
  const m = new RegistryMetrics(() => open);
  m.observe("GET", "manifest", 200, 0.0004, 700);
  m.observe("GET", "manifest", 200, 0.002, 700);
  m.observe("GET", "manifest", 404, 40, 0);
  m.observe("HEAD", "blob", 200, 0.0005, 0);
  m.refusedConnection("client");
  m.refusedConnection("client");
  open = 5;
  const text = m.render();
  assert.ok(text.endsWith("\n"));
  const lines = text.split("\n");
  const d = "pier_registry_http_request_duration_seconds";
  for (const want of [
    "# TYPE pier_registry_open_connections gauge",
    "pier_registry_open_connections 5",
    "# TYPE pier_registry_refused_connections_total counter",
    'pier_registry_refused_connections_total{cap="client"} 2',
    'pier_registry_http_requests_total{method="GET",route="manifest",status="200"} 2',
    'pier_registry_http_requests_total{method="GET",route="manifest",status="404"} 1',
    'pier_registry_http_requests_total{method="HEAD",route="blob",status="200"} 1',
    `# TYPE ${d} histogram`,
    // 0.0004 falls in the first bucket, 0.002 in le=0.005, 40 only in +Inf (cumulative counts).
    `${d}_bucket{le="0.0005",route="manifest"} 1`,
    `${d}_bucket{le="0.001",route="manifest"} 1`,
    `${d}_bucket{le="0.005",route="manifest"} 2`,
    `${d}_bucket{le="30",route="manifest"} 2`,
    `${d}_bucket{le="+Inf",route="manifest"} 3`,
    `${d}_count{route="manifest"} 3`,
    // A value equal to a bound counts in that bucket (le: less or equal).
    `${d}_bucket{le="0.0005",route="blob"} 1`,
    "pier_registry_http_response_bytes_total 1400",
  ])
    assert.ok(lines.includes(want), `missing line: ${want}\n${text}`);
  const sum = Number(lines.find((l) => l.startsWith(`${d}_sum{route="manifest"}`))?.split(" ")[1]);
  assert.ok(Math.abs(sum - 40.0024) < 1e-9, `sum ${sum}`);
  // Every sample line is `name{labels} value` or `name value`, and each family is declared once.
  for (const l of lines.filter((x) => x && !x.startsWith("#")))
    assert.match(l, /^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [-+\w.]+$/);
  const types = lines.filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2]);
  assert.equal(new Set(types).size, types.length);
});

test("metrics escape label values as the text format requires", () => {
  const m = new RegistryMetrics();
  m.observe('GE"T\\', "a\nb", 500, 0.1, 0);
  assert.match(m.render(), /\{method="GE\\"T\\\\",route="a\\nb",status="500"\} 1\n/);
});
