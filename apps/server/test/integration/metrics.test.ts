import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_BATCH } from "../helpers/agentvista.js";
import { createScratchDatabase } from "../helpers/context.js";
import { seedSchemaVersion } from "../helpers/prefactor.js";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

// The real server with METRICS_PORT: Prometheus text on its own port, moving with the traffic.

const token = "metrics-test-admin-token-0123456789";
let server: RunningServer;
let metricsUrl: string;
let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const env: Record<string, string> = { SPYGLASS_ADMIN_TOKEN: token, SPYGLASS_DATA_DIR: "memory://" };
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL, "spyglass_metrics");
    env.DATABASE_URL = scratch.url;
    drop = scratch.drop;
  }
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  server = spawnServer({ ...env, METRICS_PORT: String(metricsPort) }, await freePort());
  await waitReady(server, 110_000);
});
afterAll(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  await drop?.();
});

/** Prometheus text exposition → value of the series with this name whose labels include `labels` (0 when absent). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const call = (method: string, path: string, body?: unknown, auth = token) =>
  fetch(`${server.baseUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${auth}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("metrics", () => {
  it("counts requests by route template and ingest per way in, on METRICS_PORT only", async () => {
    const before = await scrape();
    expect(value(before, "spyglass_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(before).toMatch(/^spyglass_nodejs_eventloop_lag_p99_seconds /m);
    if (process.env.DATABASE_URL) expect(before).toMatch(/^spyglass_db_pool_connections\{state="in_use"\} /m);

    // Prefactor: a run and a span accepted, a span refused (unknown instance).
    const reg = await call("POST", "/agent_instance/register", {
      agent_version: { name: "metrics-bot", external_identifier: "1.0.0" },
      agent_schema_version: seedSchemaVersion,
    });
    expect(reg.status).toBe(200);
    const instanceId = ((await reg.json()) as { details: { id: string } }).details.id;
    expect((await call("POST", `/agent_instance/${instanceId}/start`, {})).status).toBe(200);
    const span = { details: { agent_instance_id: instanceId, schema_name: "llm", status: "active", payload: { model: "m" } } };
    expect((await call("POST", "/agent_spans", span)).status).toBe(200);
    expect((await call("POST", "/agent_spans", { details: { ...span.details, agent_instance_id: "no-such-instance" } })).status).toBe(404);

    // AgentVista: one trace of one span stored, one trace refused (ended before it started).
    const key = await call("POST", "/me/api-keys", { name: "metrics", scopes: ["write", "read"] });
    expect(key.status).toBe(201);
    const av = ((await key.json()) as { key: string }).key;
    const good = SEED_BATCH.traces[0]!;
    const bad = { trace: { ...good.trace, trace_id: "0f8fad5b-d9cb-469f-a165-70867728950e", ended_at: "2024-01-15T09:00:00Z" }, spans: [] };
    const batch = await call("POST", "/traces/batch", { traces: [good, bad] }, av);
    expect(batch.status).toBe(200);

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(moved("spyglass_ingest_total", { way: "prefactor", kind: "run", outcome: "accepted" })).toBe(1);
    expect(moved("spyglass_ingest_total", { way: "prefactor", kind: "span", outcome: "accepted" })).toBe(1);
    expect(moved("spyglass_ingest_total", { way: "prefactor", kind: "span", outcome: "rejected" })).toBe(1);
    expect(moved("spyglass_ingest_total", { way: "agentvista", kind: "run", outcome: "accepted" })).toBe(1);
    expect(moved("spyglass_ingest_total", { way: "agentvista", kind: "run", outcome: "rejected" })).toBe(1);
    expect(moved("spyglass_ingest_total", { way: "agentvista", kind: "span", outcome: "accepted" })).toBe(1);
    expect(moved("spyglass_http_requests_total", { method: "POST", route: "/api/v1/agent_instance/:id/start", status: "200" })).toBe(1);
    expect(moved("spyglass_http_requests_total", { method: "POST", route: "/api/v1/agent_spans", status: "404" })).toBe(1);
    expect(moved("spyglass_http_request_duration_seconds_count", { method: "POST", route: "/api/v1/traces/batch", status: "200" })).toBe(1);
    expect(moved("spyglass_ingest_gate_wait_seconds_count", {})).toBeGreaterThanOrEqual(1);
    // Route templates only: no id a client sent appears in a label.
    expect(after).not.toContain(instanceId);

    // The API's port does not serve metrics.
    const onApi = await fetch(`${server.baseUrl}/metrics`);
    expect(onApi.status).toBe(404);
    expect(await onApi.text()).not.toContain("spyglass_http_requests_total");
  }, 120_000);
});
