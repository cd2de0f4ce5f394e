import { AV_SPAN_TYPES, type AvTraceBatchItem } from "@spyglass/contracts";
import type { InstanceWrite, SpanWrite, TraceBatchWrite } from "../../repositories/traces.js";
import { instanceStatusOf, spanStatusOf, TERMINAL_SPAN_STATUSES, TIMED_OUT_REASON } from "../../model/status.js";
import { instantProblem, parseInstant } from "../shared/time.js";

export { parseInstant };

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

function toInstant(value: string, path: string, now: Date): Date {
  const date = parseInstant(value);
  if (!date) throw new Rejection(`${path}: not a valid timestamp`);
  return plausible(date, path, now);
}

function plausible(date: Date, path: string, now: Date): Date {
  const problem = instantProblem(date, now);
  if (problem) throw new Rejection(`${path}: ${problem}`);
  return date;
}

/**
 * The duration and the end: the timestamps win (as in the Prefactor dialect, where the duration is
 * always derived), a reported duration only stands in for a missing ended_at.
 */
function extentOf(reported: number | null | undefined, started: Date, ended: Date | null, path: string, now: Date): { duration: number | null; end: Date | null } {
  if (ended) {
    if (ended.getTime() < started.getTime()) throw new Rejection(`${path}.ended_at is before started_at`);
    const ms = ended.getTime() - started.getTime();
    if (ms > INT_MAX) throw new Rejection(`${path}: duration exceeds ${INT_MAX} ms`);
    return { duration: ms, end: ended };
  }
  if (reported === null || reported === undefined) return { duration: null, end: null };
  return { duration: reported, end: plausible(new Date(started.getTime() + reported), `${path}.started_at + duration_ms`, now) };
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

export function normalizeTraceItem(index: number, item: AvTraceBatchItem, now = new Date()): NormalizeResult {
  const t = item.trace;
  const traceId = t.trace_id.toLowerCase();
  try {
    const problem = jsonProblem(item);
    if (problem) throw new Rejection(problem);
    const status = t.status ?? "completed";
    const open = status === "running";
    const started = toInstant(t.started_at, "trace.started_at", now);
    const ended = t.ended_at ? toInstant(t.ended_at, "trace.ended_at", now) : null;
    const { duration, end: finished } = extentOf(t.duration_ms, started, ended, "trace", now);

    const byId = new Map<string, SpanWrite>();
    item.spans.forEach((s, j) => {
      const path = `spans.${j}`;
      const id = s.span_id.toLowerCase();
      if (s.trace_id.toLowerCase() !== traceId) throw new Rejection(`${path}.trace_id does not match the trace's trace_id`);
      const parentSpanId = s.parent_span_id ? s.parent_span_id.toLowerCase() : null;
      if (parentSpanId === id) throw new Rejection(`${path}.parent_span_id must differ from span_id`);
      const spanStarted = toInstant(s.started_at, `${path}.started_at`, now);
      const spanEnded = s.ended_at ? toInstant(s.ended_at, `${path}.ended_at`, now) : null;
      const { duration: spanDuration, end: spanEnd } = extentOf(s.duration_ms, spanStarted, spanEnded, path, now);
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
        finishedAt: spanOpen ? null : (spanEnd?.toISOString() ?? null),
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
