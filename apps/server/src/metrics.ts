import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { RequestHandler } from "express";
import client from "prom-client";

/**
 * Prometheus metrics of this process, in prom-client's global registry (the one its cluster
 * aggregation asks workers for). Labels never carry tenant data or ids: routes are Express route
 * templates, never the URL a client sent.
 */
const registry = client.register;
client.collectDefaultMetrics({ register: registry, prefix: "spyglass_" });

const requestLabels = ["method", "route", "status"] as const;
const requests = new client.Counter({
  name: "spyglass_http_requests_total",
  help: "HTTP requests answered, by method, route template and status code.",
  labelNames: requestLabels,
});
const requestSeconds = new client.Histogram({
  name: "spyglass_http_request_duration_seconds",
  help: "Time from a request's arrival to the end of its answer, by method, route template and status code.",
  labelNames: requestLabels,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/** The ways data comes in. */
export type IngestWay = "prefactor" | "agentvista" | "otlp";

const ingested = new client.Counter({
  name: "spyglass_ingest_total",
  help: "Runs and spans received, by way in (prefactor, agentvista, otlp), kind (run, span) and outcome (accepted, rejected).",
  labelNames: ["way", "kind", "outcome"] as const,
});
const gateWaitSeconds = new client.Histogram({
  name: "spyglass_ingest_gate_wait_seconds",
  help: "Time a batch write waited for its turn at the write gate (zero when it did not wait).",
  buckets: [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
const staleRunsSwept = new client.Counter({
  name: "spyglass_stale_runs_swept_total",
  help: "Open runs terminated as timed_out by the stale-run sweep.",
});
const retentionDeleted = new client.Counter({
  name: "spyglass_retention_deleted_total",
  help: "Rows deleted by the retention job, by kind (run, span).",
  labelNames: ["kind"] as const,
});

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}
let poolStats: (() => PoolStats | null) | undefined;
new client.Gauge({
  name: "spyglass_db_pool_connections",
  help: "Database pool connections by state: in_use, idle, and requests waiting for one (PostgreSQL only).",
  labelNames: ["state"] as const,
  collect() {
    const stats = poolStats?.();
    if (!stats) return;
    this.set({ state: "in_use" }, stats.total - stats.idle);
    this.set({ state: "idle" }, stats.idle);
    this.set({ state: "waiting" }, stats.waiting);
  },
});

export const metrics = {
  ingest(way: IngestWay, kind: "run" | "span", accepted: number, rejected: number): void {
    if (accepted > 0) ingested.inc({ way, kind, outcome: "accepted" }, accepted);
    if (rejected > 0) ingested.inc({ way, kind, outcome: "rejected" }, rejected);
  },
  /** Counts one item written through `work` as accepted, or as rejected when `work` throws. */
  async counted<T>(way: IngestWay, kind: "run" | "span", work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      ingested.inc({ way, kind, outcome: "accepted" });
      return result;
    } catch (error) {
      ingested.inc({ way, kind, outcome: "rejected" });
      throw error;
    }
  },
  gateWait(seconds: number): void {
    gateWaitSeconds.observe(seconds);
  },
  staleRunsSwept(runs: number): void {
    staleRunsSwept.inc(runs);
  },
  retentionDeleted(runs: number, spans: number): void {
    retentionDeleted.inc({ kind: "run" }, runs);
    retentionDeleted.inc({ kind: "span" }, spans);
  },
  /** The database pool the gauge reads at each scrape (the last one opened in this process). */
  watchPool(stats: () => PoolStats | null): void {
    poolStats = stats;
  },
};

/** Counts every answer by the route template that handled it. */
export function requestMetrics(): RequestHandler {
  return (req, res, next) => {
    const end = requestSeconds.startTimer();
    res.once("finish", () => {
      // req.route is the matched route of the innermost router, req.baseUrl where that router is mounted.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : "(none)";
      const labels = { method: req.method, route, status: String(res.statusCode) };
      requests.inc(labels);
      end(labels);
    });
    next();
  };
}

/**
 * Serves GET /metrics on its own address, never the API's: metrics are for the operator and need
 * no token. Under the cluster supervisor (WEB_CONCURRENCY > 1) the supervisor serves the sum of
 * its server processes' metrics.
 */
export async function startMetricsServer(port: number, host: string, ofWorkers = false): Promise<Server> {
  const aggregator = ofWorkers ? new client.AggregatorRegistry() : null;
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    (aggregator ? aggregator.clusterMetrics() : registry.metrics()).then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      () => res.writeHead(503, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  server.listen(port, host);
  await once(server, "listening");
  return server;
}
