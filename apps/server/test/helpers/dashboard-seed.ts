import { randomUUID } from "node:crypto";
import { createSpyglassClient, type SpyglassClient } from "@spyglass/client";
import { seedSchemaVersion } from "./prefactor.js";

// Data for the dashboard's browser test, its bench and its screenshots, written over HTTP through
// both dialects exactly as SDKs would: AgentVista traces for one agent, Prefactor runs (with
// schema-validated spans and Liquid summaries) for another.

export interface DashboardSeed {
  /** AgentVista agent and its run with a tree of spans (one failed tool call). */
  avAgent: string;
  avRunId: string;
  /** Prefactor agent, its finished run (a valid and an invalid llm span) and its still running run. */
  pfAgent: string;
  pfRunId: string;
  pfRunningId: string;
  validSpanId: string;
  invalidSpanId: string;
}

async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>, what: string): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new Error(`${what}: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

export function seedClient(baseUrl: string, token: string): SpyglassClient {
  return createSpyglassClient({ baseUrl, token });
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An AgentVista trace of an agent run: plan (llm), search (retrieval), tools, answer (llm). */
export function avTrace(agent: string, startedAt: number, options: { failed?: boolean; success?: boolean; outcome?: string; scale?: number } = {}) {
  const traceId = randomUUID();
  const k = options.scale ?? 1;
  const root = randomUUID();
  const span = (name: string, type: string, offset: number, duration: number, extra: Record<string, unknown> = {}, parent: string | null = root) => ({
    span_id: parent === null ? root : randomUUID(),
    trace_id: traceId,
    parent_span_id: parent,
    type,
    name,
    status: "completed",
    started_at: iso(startedAt + offset * k),
    ended_at: iso(startedAt + (offset + duration) * k),
    duration_ms: Math.round(duration * k),
    ...extra,
  });
  const total = 4200;
  const spans = [
    span("qualify lead", "agent", 0, total, {}, null),
    span("gpt-4o plan", "llm", 40, 900, {
      model: "gpt-4o",
      input_tokens: 820,
      output_tokens: 140,
      cost_usd: "0.003450",
      input: { messages: [{ role: "system", content: "You qualify sales leads." }, { role: "user", content: "Acme Corp, 40 seats, wants SSO." }] },
      output: { text: "Look up Acme in the CRM, then score." },
    }),
    span("crm lookup", "retrieval", 980, 600, { input: { query: "Acme Corp" }, output: { hits: 3 } }),
    span("enrich company", "tool", 1620, 1100, options.failed ? { status: "failed", error_message: "enrichment API: 503 Service Unavailable" } : { output: { employees: 420 } }),
    span("gpt-4o score", "llm", 2800, 1300, {
      model: "gpt-4o",
      input_tokens: 1200,
      output_tokens: 60,
      cost_usd: "0.003600",
      output: { score: 82, verdict: "qualified" },
    }),
  ];
  return {
    trace: {
      trace_id: traceId,
      agent,
      status: options.failed ? "failed" : "completed",
      started_at: iso(startedAt),
      ended_at: iso(startedAt + total * k),
      duration_ms: Math.round(total * k),
      ...(options.success !== undefined ? { success: options.success } : {}),
      ...(options.outcome ? { outcome: options.outcome } : {}),
      ...(options.failed ? { error_message: "enrichment failed" } : {}),
    },
    spans,
  };
}

export async function seedDashboard(baseUrl: string, token: string): Promise<DashboardSeed> {
  const client = seedClient(baseUrl, token);
  const now = Date.now();
  const avAgent = "lead-qualifier";
  const traces = [
    avTrace(avAgent, now - 50 * 60_000, { success: true, outcome: "qualified" }),
    avTrace(avAgent, now - 40 * 60_000, { failed: true, success: false, outcome: "enrichment failed" }),
    avTrace(avAgent, now - 3 * 86_400_000, { success: true, outcome: "qualified", scale: 1.4 }),
    avTrace(avAgent, now - 2 * 86_400_000, { success: false, outcome: "disqualified", scale: 0.8 }),
  ];
  const batch = await ok(client.POST("/api/v1/traces/batch", { body: { traces } as never }), "AgentVista batch");
  if (batch.rejected) throw new Error(`AgentVista batch rejected: ${JSON.stringify(batch.errors)}`);

  const pfAgent = "support-bot";
  const register = () =>
    ok(
      client.POST("/api/v1/agent_instance/register", {
        body: { agent_version: { name: pfAgent, external_identifier: "1.0.0" }, agent_schema_version: seedSchemaVersion as never },
      }),
      "register",
    );
  const run = (await register()).details;
  await ok(client.POST("/api/v1/agent_instance/{id}/start", { params: { path: { id: run.id } }, body: {} }), "start");
  const span = async (details: Record<string, unknown>) =>
    (await ok(client.POST("/api/v1/agent_spans", { body: { details: { agent_instance_id: run.id, status: "active", ...details } as never } }), "span")).details;
  const finish = (id: string, result: Record<string, unknown>, status: "complete" | "failed" = "complete") =>
    ok(client.POST("/api/v1/agent_spans/{id}/finish", { params: { path: { id } }, body: { status, result_payload: result as never } }), "finish span");
  const valid = await span({ schema_name: "llm", payload: { model: "gpt-4o", prompt: "Hi", temperature: 0.2 } });
  await finish(valid.id, { response: "Hello! How can I help?", tokens: 12 });
  const tool = await span({ schema_name: "tool", parent_span_id: valid.id, payload: { name: "lookup_order", input: { order: "A-1001" } } });
  await finish(tool.id, {});
  const invalid = await span({ schema_name: "llm", payload: { model: 4, prompt: "Where is my order?" } });
  await finish(invalid.id, { response: "It ships tomorrow.", tokens: 9 });
  await ok(client.POST("/api/v1/agent_instance/{id}/finish", { params: { path: { id: run.id } }, body: { status: "complete" } }), "finish run");

  const running = (await register()).details;
  await ok(client.POST("/api/v1/agent_instance/{id}/start", { params: { path: { id: running.id } }, body: {} }), "start");

  return {
    avAgent,
    avRunId: traces[1]!.trace.trace_id,
    pfAgent,
    pfRunId: run.id,
    pfRunningId: running.id,
    validSpanId: valid.id,
    invalidSpanId: invalid.id,
  };
}

/** One AgentVista trace of `count` spans (a wide, deep tree), sent in batches of 100. */
export async function seedLargeTrace(client: SpyglassClient, agent: string, count: number): Promise<string> {
  const traceId = randomUUID();
  const start = Date.now() - 3_600_000;
  const ids = Array.from({ length: count }, () => randomUUID());
  const types = ["llm", "tool", "retrieval", "http", "db", "custom"];
  const spans = ids.map((id, i) => {
    const parent = i === 0 ? null : ids[i < 20 ? i - 1 : Math.floor(Math.sqrt(i) * 3) % i]!;
    const offset = i * 20;
    return {
      span_id: id,
      trace_id: traceId,
      parent_span_id: parent,
      type: i === 0 ? "agent" : types[i % types.length]!,
      name: `step ${i}`,
      status: i % 97 === 5 ? "failed" : "completed",
      started_at: iso(start + offset),
      ended_at: iso(start + offset + (i === 0 ? count * 20 + 100 : 15 + (i % 40))),
    };
  });
  const trace = { trace_id: traceId, agent, status: "completed", started_at: iso(start), ended_at: iso(start + count * 20 + 100) };
  for (let i = 0; i < spans.length; i += 100) {
    const res = await ok(client.POST("/api/v1/traces/batch", { body: { traces: [{ trace, spans: spans.slice(i, i + 100) }] } as never }), "large batch");
    if (res.rejected) throw new Error(`large batch rejected: ${JSON.stringify(res.errors)}`);
  }
  return traceId;
}
