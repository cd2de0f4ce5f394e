// The ingest workloads, as plain data derived from (seed, anchor): the driver turns them into
// requests, the orchestrator turns the same plan into rows for the raw-SQL floor.
import { createRequire } from "node:module";
import type protobuf from "protobufjs";
import { generatePfid } from "../src/domain/shared/pfid.js";
import {
  agentDefs, generateTrace, iso, pickSpanCount, pickTraceStatus, SPAN_TYPE_SCHEMAS, usd,
  type AgentDef, type GenSpan, type GenTrace,
} from "./generate.js";
import { Rng } from "./rng.js";

export const AV_BATCH_SPANS = 100;

export interface PlanOptions {
  seed: string;
  /** Wall-clock anchor (ms): runs start in the minutes before it. */
  anchor: number;
  label: string;
  workers: number;
  /** Spans in total across all workers. */
  spans: number;
  agents?: AgentDef[];
  /** For client-minted PFIDs (Prefactor bulk); UUIDs otherwise. */
  pfidPartition?: number;
}

/** Each worker is one SDK process reporting its own runs, in order. */
export function planTraces(opts: PlanOptions): GenTrace[][] {
  const agents = opts.agents ?? agentDefs();
  const weights = agents.map((a) => [a, a.weight] as const);
  const perWorker = Math.ceil(opts.spans / opts.workers);
  const idOf =
    opts.pfidPartition === undefined
      ? undefined
      : (r: Rng) => {
          const bytes = new Uint8Array(10);
          for (let i = 0; i < 10; i++) bytes[i] = r.nextU32() & 0xff;
          return generatePfid(opts.pfidPartition!, opts.anchor, bytes);
        };
  const plan: GenTrace[][] = [];
  for (let w = 0; w < opts.workers; w++) {
    const rng = new Rng(`${opts.seed}/${opts.label}/w${w}`);
    const traces: GenTrace[] = [];
    let count = 0;
    while (count < perWorker) {
      const spanCount = Math.min(pickSpanCount(rng), Math.max(5, perWorker - count));
      const trace = generateTrace(rng, {
        agent: rng.weighted(weights),
        startedAt: opts.anchor - rng.int(5_000, 600_000),
        spanCount,
        status: rng.chance(0.92) ? "completed" : pickTraceStatus(rng, false),
        idOf,
      });
      traces.push(trace);
      count += trace.spans.length;
    }
    plan.push(traces);
  }
  return plan;
}

export const planSpanCount = (plan: GenTrace[][]) => plan.reduce((n, ts) => n + ts.reduce((m, t) => m + t.spans.length, 0), 0);

// ---- AgentVista -------------------------------------------------------------------------------

function avTraceHeader(t: GenTrace): Record<string, unknown> {
  const h: Record<string, unknown> = {
    trace_id: t.id,
    agent: t.agent.name,
    status: t.status,
    started_at: iso(t.startedAt),
    metadata: t.metadata,
  };
  if (t.endedAt !== null) h.ended_at = iso(t.endedAt);
  if (t.durationMs !== null) h.duration_ms = t.durationMs;
  if (t.success !== null) h.success = t.success;
  if (t.outcome !== null) h.outcome = t.outcome;
  if (t.errorMessage !== null) h.error_message = t.errorMessage;
  if (t.totalsExplicit) {
    h.total_tokens = t.totalTokens;
    h.total_cost_usd = usd(t.totalCostMicros);
  }
  return h;
}

function avSpan(traceId: string, s: GenSpan): Record<string, unknown> {
  const o: Record<string, unknown> = {
    span_id: s.id,
    trace_id: traceId,
    parent_span_id: s.parentId,
    type: s.type,
    name: s.name,
    status: s.status,
    started_at: iso(s.startedAt),
    input: s.input,
  };
  if (s.endedAt !== null) o.ended_at = iso(s.endedAt);
  if (s.durationMs !== null) o.duration_ms = s.durationMs;
  if (s.output !== null) o.output = s.output;
  if (s.model !== null) {
    o.model = s.model;
    o.input_tokens = s.inputTokens;
    o.output_tokens = s.outputTokens;
    o.total_tokens = s.totalTokens;
    o.cost_usd = usd(s.costMicros ?? 0);
  }
  if (s.errorMessage !== null) o.error_message = s.errorMessage;
  return o;
}

/**
 * A worker's runs packed into batches of exactly 100 spans (the last may be smaller). A run longer
 * than the room left continues in the next batch with its header repeated, as an SDK flushing a
 * long run does; the server upserts the header.
 */
export function avBatches(traces: GenTrace[]): { body: string; spans: number }[] {
  const batches: { body: string; spans: number }[] = [];
  let current: { trace: Record<string, unknown>; spans: Record<string, unknown>[] }[] = [];
  let room = AV_BATCH_SPANS;
  const flush = () => {
    if (current.length === 0) return;
    batches.push({ body: JSON.stringify({ traces: current }), spans: AV_BATCH_SPANS - room });
    current = [];
    room = AV_BATCH_SPANS;
  };
  for (const t of traces) {
    const header = avTraceHeader(t);
    let i = 0;
    while (i < t.spans.length) {
      const take = Math.min(room, t.spans.length - i);
      current.push({ trace: header, spans: t.spans.slice(i, i + take).map((s) => avSpan(t.id, s)) });
      i += take;
      room -= take;
      if (room === 0) flush();
    }
  }
  flush();
  return batches;
}

// ---- OTLP -------------------------------------------------------------------------------------

const otlpRoot = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: protobuf.Type } } } } };
};
const { ExportTraceServiceRequest } = otlpRoot.opentelemetry.proto.collector.trace.v1;

const OTEL_OPERATIONS: Partial<Record<string, string>> = { llm: "chat", tool: "execute_tool", agent: "invoke_agent", retrieval: "retrieval" };
const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);
const hexOf = (uuid: string) => uuid.replace(/-/g, "");
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: value } });

function otelSpan(traceId: string, s: GenSpan) {
  const attributes: { key: string; value: Record<string, unknown> }[] = [str("input.value", JSON.stringify(s.input))];
  const operation = OTEL_OPERATIONS[s.type];
  if (operation) attributes.push(str("gen_ai.operation.name", operation));
  if (s.output !== null) attributes.push(str("output.value", JSON.stringify(s.output)));
  // No cost: the server computes it from its price table, as it does for most OTel clients.
  if (s.model !== null) attributes.push(str("gen_ai.request.model", s.model), int("gen_ai.usage.input_tokens", s.inputTokens ?? 0), int("gen_ai.usage.output_tokens", s.outputTokens ?? 0));
  const ended = s.endedAt ?? s.startedAt;
  return {
    traceId: Buffer.from(traceId, "hex"),
    spanId: Buffer.from(hexOf(s.id).slice(0, 16), "hex"),
    ...(s.parentId ? { parentSpanId: Buffer.from(hexOf(s.parentId).slice(0, 16), "hex") } : {}),
    name: s.name,
    kind: 1,
    startTimeUnixNano: nanos(s.startedAt),
    endTimeUnixNano: nanos(ended),
    attributes,
    status: s.status === "failed" ? { code: 2, message: s.errorMessage ?? "error" } : { code: 0 },
  };
}

/**
 * A worker's runs as OTLP/protobuf exports of 100 spans (the last may be smaller), one
 * ResourceSpans per agent (service.name) in each, as a batch span processor sends them: a long run
 * continues in the next export.
 */
export function otlpExports(traces: GenTrace[]): { body: Buffer; spans: number }[] {
  const exports: { body: Buffer; spans: number }[] = [];
  let current = new Map<string, ReturnType<typeof otelSpan>[]>();
  let room = AV_BATCH_SPANS;
  const flush = () => {
    if (current.size === 0) return;
    const resourceSpans = [...current].map(([service, spans]) => ({
      resource: { attributes: [str("service.name", service)] },
      scopeSpans: [{ scope: { name: "spyglass-bench", version: "1" }, spans }],
    }));
    exports.push({ body: Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans })).finish()), spans: AV_BATCH_SPANS - room });
    current = new Map();
    room = AV_BATCH_SPANS;
  };
  for (const t of traces) {
    const traceId = hexOf(t.id);
    for (const s of t.spans) {
      const list = current.get(t.agent.name) ?? [];
      list.push(otelSpan(traceId, s));
      current.set(t.agent.name, list);
      if (--room === 0) flush();
    }
  }
  flush();
  return exports;
}

// ---- Prefactor --------------------------------------------------------------------------------

export const SCHEMA_VERSION = "bench-schemas-v1";

export function registerBody(agent: AgentDef): string {
  return JSON.stringify({
    agent_version: { name: agent.name, external_identifier: `v1.${agent.index % 4}.0`, description: "benchmark agent" },
    agent_schema_version: { external_identifier: SCHEMA_VERSION, span_type_schemas: SPAN_TYPE_SCHEMAS },
    purpose: "live",
  });
}

export function spanCreateDetails(instanceId: string, s: GenSpan, parentId: string | null, terminal: boolean, id?: string): Record<string, unknown> {
  const d: Record<string, unknown> = {
    agent_instance_id: instanceId,
    schema_name: s.type,
    status: terminal ? (s.status === "failed" ? "failed" : "complete") : "active",
    payload: s.input,
    started_at: iso(s.startedAt),
  };
  if (id) d.id = id;
  if (parentId) d.parent_span_id = parentId;
  if (terminal) {
    d.result_payload = s.output ?? {};
    d.finished_at = iso(s.endedAt ?? s.startedAt);
  }
  return d;
}

export function spanFinishBody(s: GenSpan): string {
  return JSON.stringify({ status: s.status === "failed" ? "failed" : "complete", result_payload: s.output ?? {}, timestamp: iso(s.endedAt ?? s.startedAt) });
}
