import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The registry's Prometheus metrics, in their own prom-client registry (several servers may share a process). */
export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly duration: Histogram<"route">;
  private readonly bytesOut: Counter;
  private readonly refused: Counter<"cap">;

  /** `openConnections` reports the connections open when metrics are rendered. */
  constructor(openConnections: () => number = () => 0) {
    new Gauge({
      name: "pier_registry_open_connections",
      help: "Client connections open now, those over a cap included",
      registers: [this.registry],
      collect() {
        this.set(openConnections());
      },
    });
    this.refused = new Counter({
      name: "pier_registry_refused_connections_total",
      help: "Connections answered 503 (or closed) for being over a cap: total or per client",
      labelNames: ["cap"],
      registers: [this.registry],
    });
    this.requests = new Counter({
      name: "pier_registry_http_requests_total",
      help: "HTTP requests answered, by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: "pier_registry_http_request_duration_seconds",
      help: "Time to answer a request, by route",
      labelNames: ["route"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [this.registry],
    });
    this.bytesOut = new Counter({
      name: "pier_registry_http_response_bytes_total",
      help: "Bytes sent in response bodies",
      registers: [this.registry],
    });
  }

  /** Records one answered request. */
  observe(method: string, route: string, status: number, seconds: number, bytes: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.duration.observe({ route }, seconds);
    if (bytes > 0) this.bytesOut.inc(bytes);
  }

  /** Records a connection over the `total` or the per-`client` cap. */
  refusedConnection(cap: "total" | "client"): void {
    this.refused.inc({ cap });
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
