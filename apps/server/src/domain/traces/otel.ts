import { createHash } from "node:crypto";
import type { SpanWrite } from "../../repositories/traces.js";
import type { NormalizedTrace } from "./normalize.js";

// OpenTelemetry spans (as the OTLP dialect decodes them from either wire encoding) mapped into the
// one model: a trace is a run, a span a span. The rules are written down in docs/otlp.md.

/** An attribute value: AnyValue with bytes as base64 and 64-bit integers as numbers (or decimal text past 2^53). */
export type OtelValue = string | number | boolean | null | OtelValue[] | { [key: string]: OtelValue };
export type OtelAttributes = Record<string, OtelValue>;

export interface OtelEvent {
  name: string;
  timeUnixNano: string;
  attributes: OtelAttributes;
}

export interface OtelLink {
  traceId: string;
  spanId: string;
  attributes: OtelAttributes;
}

export interface OtelSpan {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** SpanKind as its number (0 unspecified ... 5 consumer). */
  kind: number;
  /** Nanoseconds since the epoch, as decimal text (exact). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtelAttributes;
  events: OtelEvent[];
  links: OtelLink[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  traceState: string;
  /** The resource's attributes (shared by the spans of one ResourceSpans). */
  resource: OtelAttributes;
  scope: { name: string; version: string };
}

const INT_MAX = 2_147_483_647;
const MAX_NAME = 1024;
const MAX_MODEL = 255;
const MAX_AGENT = 255;
export const UNKNOWN_SERVICE = "unknown_service";

/** The run id of a trace: its 16 bytes as a lowercase UUID. */
export function runIdOfTrace(traceId: string): string {
  return `${traceId.slice(0, 8)}-${traceId.slice(8, 12)}-${traceId.slice(12, 16)}-${traceId.slice(16, 20)}-${traceId.slice(20)}`;
}

/** RFC 4122's URL namespace: span ids are name-based (version 5) UUIDs in it. */
const URL_NAMESPACE = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex");

/**
 * The span id of an OTel span: the version-5 UUID of `otel-span:<trace id>:<span id>` (hex) in the
 * URL namespace. OTel span ids are unique within their trace only, so the trace id takes part;
 * the same span always maps to the same id, so a re-sent span finds its row.
 */
export function spanIdOf(traceId: string, spanId: string): string {
  const hash = createHash("sha1").update(URL_NAMESPACE).update(`otel-span:${traceId}:${spanId}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return runIdOfTrace(hex);
}

const GEN_AI_OPERATIONS: Record<string, string> = {
  chat: "llm",
  text_completion: "llm",
  generate_content: "llm",
  embeddings: "embedding",
  execute_tool: "tool",
  invoke_agent: "agent",
  create_agent: "agent",
};

function text(value: OtelValue | undefined): string | null {
  if (typeof value === "string") return value.length > 0 ? value : null;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** The first attribute of `keys` that holds a token count (a non-negative integer a column can hold). */
function count(attributes: OtelAttributes, ...keys: string[]): number | null {
  for (const key of keys) {
    const value = attributes[key];
    const n = typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : value;
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= INT_MAX) return n;
  }
  return null;
}

/** A reported cost (USD) in an attribute, as decimal text. */
function reportedCost(attributes: OtelAttributes): string | null {
  for (const key of ["gen_ai.usage.cost", "llm.cost.total"]) {
    const value = attributes[key];
    const n = typeof value === "string" && /^\d{1,14}(\.\d{1,12})?$/.test(value) ? Number(value) : value;
    if (typeof n === "number" && Number.isFinite(n) && n >= 0 && n < 1e14) return typeof value === "string" ? value : String(n);
  }
  return null;
}

/**
 * The span type: from gen_ai.operation.name, else OpenInference's or Traceloop's span kind
 * lower-cased, else what the span's attributes say it is (an HTTP call, a database query), else
 * the generic `custom`.
 */
export function spanTypeOf(attributes: OtelAttributes): string {
  const operation = text(attributes["gen_ai.operation.name"]);
  if (operation) {
    const type = GEN_AI_OPERATIONS[operation.toLowerCase()];
    if (type) return type;
  }
  const kind = text(attributes["openinference.span.kind"]) ?? text(attributes["traceloop.span.kind"]);
  if (kind && kind.length <= 64) return kind.toLowerCase();
  if (operation) return operation.toLowerCase().slice(0, 64);
  if (attributes["http.request.method"] !== undefined || attributes["http.method"] !== undefined) return "http";
  if (attributes["db.system"] !== undefined || attributes["db.system.name"] !== undefined) return "db";
  return "custom";
}

/** Nanoseconds (decimal text) to an ISO instant (milliseconds, the columns' precision). */
function instantOf(nanos: string): Date {
  return new Date(Number(BigInt(nanos) / 1_000_000n));
}

const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function errorMessageOf(span: OtelSpan): string {
  if (span.status.message) return span.status.message;
  const exception = span.events.find((e) => e.name === "exception");
  return text(exception?.attributes["exception.message"]) ?? text(exception?.attributes["exception.type"]) ?? "error";
}

/** Input tokens a span says were read from a prompt cache (priced at the cached-input price). */
export interface CacheUsage {
  cachedInputTokens: number | null;
}

function spanWriteOf(span: OtelSpan): { write: SpanWrite; usage: CacheUsage } {
  const a = span.attributes;
  const started = instantOf(span.startTimeUnixNano);
  const endNanos = BigInt(span.endTimeUnixNano) > BigInt(span.startTimeUnixNano) ? span.endTimeUnixNano : span.startTimeUnixNano;
  const ended = instantOf(endNanos);
  const inputTokens = count(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "llm.usage.prompt_tokens");
  const outputTokens = count(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion", "llm.usage.completion_tokens");
  const counted = inputTokens !== null || outputTokens !== null;
  const totalTokens =
    count(a, "llm.token_count.total", "llm.usage.total_tokens", "gen_ai.usage.total_tokens") ??
    (counted && (inputTokens ?? 0) + (outputTokens ?? 0) <= INT_MAX ? (inputTokens ?? 0) + (outputTokens ?? 0) : null);
  const model = text(a["gen_ai.response.model"]) ?? text(a["gen_ai.request.model"]) ?? text(a["llm.model_name"]);
  const failed = span.status.code === 2;
  const metadata = {
    "otel.trace_id": span.traceId,
    "otel.span_id": span.spanId,
    "otel.parent_span_id": span.parentSpanId,
    "otel.kind": SPAN_KINDS[span.kind] ?? String(span.kind),
    "otel.status_code": ["unset", "ok", "error"][span.status.code] ?? String(span.status.code),
    "otel.status_message": span.status.message || null,
    "otel.scope": span.scope,
    "otel.start_time_unix_nano": span.startTimeUnixNano,
    "otel.end_time_unix_nano": span.endTimeUnixNano,
    ...(span.traceState ? { "otel.trace_state": span.traceState } : {}),
    events: span.events,
    links: span.links,
  };
  return {
    write: {
      id: spanIdOf(span.traceId, span.spanId),
      parentSpanId: span.parentSpanId ? spanIdOf(span.traceId, span.parentSpanId) : null,
      schemaName: spanTypeOf(a),
      name: span.name.slice(0, MAX_NAME),
      status: failed ? "failed" : "complete",
      startedAt: started.toISOString(),
      finishedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      model: model ? model.slice(0, MAX_MODEL) : null,
      inputTokens,
      outputTokens,
      totalTokens,
      costUsd: reportedCost(a),
      costComputed: false,
      payload: JSON.stringify(a),
      resultPayload: null,
      metadata: JSON.stringify(metadata),
      errorMessage: failed ? errorMessageOf(span) : null,
    },
    usage: { cachedInputTokens: count(a, "gen_ai.usage.cache_read_input_tokens", "gen_ai.usage.cached_input_tokens", "llm.token_count.prompt_details.cache_read") },
  };
}

export interface OtelTrace extends NormalizedTrace {
  /** Spans received for this trace (a re-sent one counts again): what partial_success counts. */
  received: number;
  usage: Map<string, CacheUsage>;
}

/**
 * Groups one export's spans by trace into runs to write. A run's agent, status, end and resource
 * are its root span's (running until the root arrives); an export without the root still carries
 * the run's earliest known start and a resource, for a run not seen before.
 */
export function otelTraces(spans: OtelSpan[]): OtelTrace[] {
  const byTrace = new Map<string, OtelSpan[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  const traces: OtelTrace[] = [];
  for (const [traceId, list] of byTrace) {
    const root = list.find((s) => s.parentSpanId === null);
    const head = root ?? list[0]!;
    const byId = new Map<string, SpanWrite>();
    const usage = new Map<string, CacheUsage>();
    let earliest = head.startTimeUnixNano;
    for (const span of list) {
      const { write, usage: u } = spanWriteOf(span);
      byId.set(write.id, write);
      usage.set(write.id, u);
      if (BigInt(span.startTimeUnixNano) < BigInt(earliest)) earliest = span.startTimeUnixNano;
    }
    const rootWrite = root ? byId.get(spanIdOf(traceId, root.spanId))! : null;
    const runId = runIdOfTrace(traceId);
    traces.push({
      index: traces.length,
      traceId: runId,
      agentName: (text(head.resource["service.name"]) ?? UNKNOWN_SERVICE).slice(0, MAX_AGENT),
      instance: {
        id: runId,
        status: rootWrite ? (rootWrite.status === "failed" ? "failed" : "complete") : "active",
        terminationReason: null,
        startedAt: instantOf(earliest).toISOString(),
        finishedAt: rootWrite?.finishedAt ?? null,
        durationMs: rootWrite?.durationMs ?? null,
        success: null,
        outcome: null,
        errorMessage: rootWrite?.errorMessage ?? null,
        metadata: JSON.stringify({ ...head.resource, "otel.trace_id": traceId }),
      },
      spans: [...byId.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)),
      reportedTotals: { tokens: null, costUsd: null },
      assembly: { hasRoot: root !== undefined, joinOtherAgent: true },
      received: list.length,
      usage,
    });
  }
  return traces;
}
