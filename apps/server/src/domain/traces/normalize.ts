import { AV_SPAN_TYPES, type AvTraceBatchItem } from "@spyglass/contracts";
import type { InstanceWrite, SpanWrite, TraceBatchWrite } from "../../repositories/traces.js";
import { instanceStatusOf, spanStatusOf, TERMINAL_SPAN_STATUSES, TIMED_OUT_REASON } from "../../model/status.js";

// Rules that turn one reported trace into rows, before anything touches the database.

const INT_MAX = 2_147_483_647;

export interface NormalizedTrace {
  index: number;
  traceId: string;
  agentName: string;
  instance: InstanceWrite;
  /** Distinct ids, sorted (a stable lock order for concurrent batches). */
  spans: SpanWrite[];
  /** What the client reported; null means "the sum over the llm spans". */
  reportedTotals: { tokens: number | null; costUsd: string | null };
  assembly?: TraceBatchWrite["assembly"];
}

export type NormalizeResult = { ok: true; trace: NormalizedTrace } | { ok: false; index: number; traceId: string | null; message: string };

class Rejection extends Error {}

const PLAIN_UTC = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** ISO 8601 with or without a zone (none = UTC) to an instant; null when Date cannot place it. */
export function parseInstant(value: string): Date | null {
  // The common case (what SDKs send: toISOString's form) in one match.
  const plain = PLAIN_UTC.exec(value);
  if (plain) {
    const day = Number(plain[3]);
    if (new Date(Date.UTC(Number(plain[1]), Number(plain[2]) - 1, day)).getUTCDate() !== day) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  let text = value;
  if (!/(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/.test(text)) text += "Z";
  text = text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2").replace(/([+-]\d{2})$/, "$1:00");
  // Date rolls 2024-02-30 over into March; such a calendar date is refused instead.
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (ymd && new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]))).getUTCDate() !== Number(ymd[3])) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

function toInstant(value: string, path: string): Date {
  const date = parseInstant(value);
  if (!date) throw new Rejection(`${path}: not a valid timestamp`);
  return date;
}

/** Derived duration, or null; the reported one wins. */
function durationOf(reported: number | null | undefined, started: Date, ended: Date | null, path: string): number | null {
  if (ended && ended.getTime() < started.getTime()) throw new Rejection(`${path}.ended_at is before started_at`);
  if (reported !== null && reported !== undefined) return reported;
  if (!ended) return null;
  const ms = ended.getTime() - started.getTime();
  if (ms > INT_MAX) throw new Rejection(`${path}: duration exceeds ${INT_MAX} ms`);
  return ms;
}

/** Money as decimal text; the database column rounds it to 6 places. */
function moneyText(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? String(value) : value;
}

/**
 * Span input/output are stored as JSON objects (Prefactor payloads are objects): anything else is
 * wrapped as {"value": x} and read back in that form.
 */
export function asObjectJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const object = typeof value === "object" && !Array.isArray(value) ? value : { value };
  return JSON.stringify(object);
}

export const MAX_JSON_DEPTH = 100;

const NUL_PROBLEM = "text must not contain NUL (\\u0000) characters";
const DEPTH_PROBLEM = `JSON must not nest deeper than ${MAX_JSON_DEPTH} levels`;

/**
 * What PostgreSQL (or JSON.stringify) would choke on: U+0000 in any text or key, and nesting
 * deeper than MAX_JSON_DEPTH. Null when the value is storable. Recursion is bounded by the depth.
 */
export function jsonProblem(value: unknown, depth = 0): string | null {
  if (typeof value === "string") return value.indexOf("\u0000") === -1 ? null : NUL_PROBLEM;
  if (value === null || typeof value !== "object") return null;
  if (depth >= MAX_JSON_DEPTH) return DEPTH_PROBLEM;
  // Plain loops, and a call only for what can hold a problem: this walks every value of a batch.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === "object" ? v !== null : typeof v === "string") {
        const problem = jsonProblem(v, depth + 1);
        if (problem) return problem;
      }
    }
    return null;
  }
  const object = value as Record<string, unknown>;
  for (const k in object) {
    if (!Object.prototype.hasOwnProperty.call(object, k)) continue;
    if (k.indexOf("\u0000") !== -1) return NUL_PROBLEM;
    const v = object[k];
    if (typeof v === "object" ? v !== null : typeof v === "string") {
      const problem = jsonProblem(v, depth + 1);
      if (problem) return problem;
    }
  }
  return null;
}

const isTerminal = (span: SpanWrite) => (TERMINAL_SPAN_STATUSES as readonly string[]).includes(span.status);

export function normalizeTraceItem(index: number, item: AvTraceBatchItem): NormalizeResult {
  const t = item.trace;
  const traceId = t.trace_id.toLowerCase();
  try {
    const problem = jsonProblem(item);
    if (problem) throw new Rejection(problem);
    const status = t.status ?? "completed";
    const open = status === "running";
    const started = toInstant(t.started_at, "trace.started_at");
    const ended = t.ended_at ? toInstant(t.ended_at, "trace.ended_at") : null;
    const duration = durationOf(t.duration_ms, started, ended, "trace");
    const finished = ended ?? (duration !== null ? new Date(started.getTime() + duration) : null);

    const byId = new Map<string, SpanWrite>();
    item.spans.forEach((s, j) => {
      const path = `spans.${j}`;
      const id = s.span_id.toLowerCase();
      if (s.trace_id.toLowerCase() !== traceId) throw new Rejection(`${path}.trace_id does not match the trace's trace_id`);
      const parentSpanId = s.parent_span_id ? s.parent_span_id.toLowerCase() : null;
      if (parentSpanId === id) throw new Rejection(`${path}.parent_span_id must differ from span_id`);
      const spanStarted = toInstant(s.started_at, `${path}.started_at`);
      const spanEnded = s.ended_at ? toInstant(s.ended_at, `${path}.ended_at`) : null;
      const spanDuration = durationOf(s.duration_ms, spanStarted, spanEnded, path);
      const spanOpen = s.status === "running";
      const counted = s.input_tokens != null || s.output_tokens != null;
      const totalTokens = s.total_tokens ?? (counted ? (s.input_tokens ?? 0) + (s.output_tokens ?? 0) : null);
      if (totalTokens !== null && totalTokens > INT_MAX) throw new Rejection(`${path}.total_tokens exceeds ${INT_MAX}`);
      const span: SpanWrite = {
        id,
        parentSpanId,
        schemaName: (AV_SPAN_TYPES as readonly string[]).includes(s.type) ? s.type : "custom",
        name: s.name,
        status: spanStatusOf(s.status),
        startedAt: spanStarted.toISOString(),
        finishedAt: spanOpen ? null : (spanEnded ?? (spanDuration !== null ? new Date(spanStarted.getTime() + spanDuration) : null))?.toISOString() ?? null,
        durationMs: spanOpen ? null : spanDuration,
        model: s.model ?? null,
        inputTokens: s.input_tokens ?? null,
        outputTokens: s.output_tokens ?? null,
        totalTokens,
        costUsd: moneyText(s.cost_usd),
        costComputed: false,
        payload: asObjectJson(s.input),
        resultPayload: asObjectJson(s.output),
        metadata: s.metadata ? JSON.stringify(s.metadata) : null,
        errorMessage: s.error_message ?? null,
      };
      // A span reported twice in one trace follows the rule of a repeated span: once finished, it stays.
      const seen = byId.get(id);
      if (!seen || !isTerminal(seen)) byId.set(id, span);
    });

    return {
      ok: true,
      trace: {
        index,
        traceId,
        agentName: (t.agent ?? t.agent_name)!,
        instance: {
          id: traceId,
          status: instanceStatusOf(status),
          terminationReason: status === "timed_out" ? TIMED_OUT_REASON : null,
          startedAt: started.toISOString(),
          finishedAt: open ? null : (finished?.toISOString() ?? null),
          durationMs: open ? null : duration,
          success: t.success ?? null,
          outcome: t.outcome ?? null,
          errorMessage: t.error_message ?? null,
          metadata: t.metadata ? JSON.stringify(t.metadata) : null,
        },
        spans: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
        reportedTotals: { tokens: t.total_tokens ?? null, costUsd: moneyText(t.total_cost_usd) },
      },
    };
  } catch (error) {
    if (error instanceof Rejection) return { ok: false, index, traceId, message: error.message };
    throw error;
  }
}
