/**
 * The registry's Prometheus metrics, kept by hand in plain maps and rendered in the text
 * exposition format (0.0.4) when `/metrics` is asked for. A request costs a few map lookups
 * here; prom-client, which this replaces, cost about 10 MiB of resident memory to load and a
 * label hash per observation (`bench/registry`). Each server has its own instance.
 */

/** The content type of {@link RegistryMetrics.render}'s text (Prometheus' text format). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds (seconds) of the request duration histogram's buckets. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30] as const;

/** A label value as the text format quotes it: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A sample value as the text format writes it (Go's float formatting for the special values). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** One histogram series: per-bucket counts (not cumulative), the sum and the count. */
interface HistogramSeries {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** The registry's Prometheus metrics (several servers may share a process: one instance each). */
export class RegistryMetrics {
  /** Requests by `method`, `route` and `status` (a key of the three, NUL-separated). */
  private readonly requests = new Map<string, number>();
  private readonly duration = new Map<string, HistogramSeries>();
  private bytesOut = 0;
  private readonly refused = new Map<"total" | "client", number>();

  /** `openConnections` reports the connections open when metrics are rendered. */
  constructor(private readonly openConnections: () => number = () => 0) {}

  /** Records one answered request. */
  observe(method: string, route: string, status: number, seconds: number, bytes: number): void {
    const key = `${method}\0${route}\0${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.duration.get(route);
    if (h === undefined) {
      h = { buckets: new Array<number>(DURATION_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.duration.set(route, h);
    }
    const i = DURATION_BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
    if (bytes > 0) this.bytesOut += bytes;
  }

  /** Records a connection over the `total` or the per-`client` cap. */
  refusedConnection(cap: "total" | "client"): void {
    this.refused.set(cap, (this.refused.get(cap) ?? 0) + 1);
  }

  /** The text exposition format (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head("pier_registry_open_connections", "gauge", "Client connections open now, those over a cap included");
    out.push(`pier_registry_open_connections ${formatValue(this.openConnections())}`);
    head(
      "pier_registry_refused_connections_total",
      "counter",
      "Connections answered 503 (or closed) for being over a cap: total or per client",
    );
    for (const [cap, n] of this.refused)
      out.push(`pier_registry_refused_connections_total{cap="${cap}"} ${n}`);
    head(
      "pier_registry_http_requests_total",
      "counter",
      "HTTP requests answered, by method, route and status",
    );
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split("\0") as [string, string, string];
      out.push(
        `pier_registry_http_requests_total{method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"} ${n}`,
      );
    }
    const d = "pier_registry_http_request_duration_seconds";
    head(d, "histogram", "Time to answer a request, by route");
    for (const [route, h] of this.duration) {
      const r = escapeLabel(route);
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        out.push(`${d}_bucket{le="${le}",route="${r}"} ${cumulative}`);
      });
      out.push(`${d}_bucket{le="+Inf",route="${r}"} ${h.count}`);
      out.push(`${d}_sum{route="${r}"} ${formatValue(h.sum)}`);
      out.push(`${d}_count{route="${r}"} ${h.count}`);
    }
    head("pier_registry_http_response_bytes_total", "counter", "Bytes sent in response bodies");
    out.push(`pier_registry_http_response_bytes_total ${this.bytesOut}`);
    return `${out.join("\n")}\n`;
  }
}
