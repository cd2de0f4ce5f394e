import type { Request, Router } from "express";
import {
  AV_MAX_SPANS_PER_BATCH,
  AvCompareAgentsQuerySchema,
  AvCompareAgentsResponseSchema,
  AvOutcomeResponseSchema,
  AvOutcomeUpdateSchema,
  AvTraceBatchEnvelopeSchema,
  AvTraceBatchItemSchema,
  AvTraceBatchResponseSchema,
  AV_SPAN_PAGE_DEFAULT,
  AvSpanIdParamsSchema,
  AvSpanSchema,
  AvTraceDetailQuerySchema,
  AvTraceDetailSchema,
  AvTraceIdParamsSchema,
  AvTraceListQuerySchema,
  AvTraceListResponseSchema,
  type AvTraceBatchItem,
} from "@spyglass/contracts";
import { requireScope } from "../../domain/accounts/service.js";
import type { BatchError } from "../../domain/traces/ingest.js";
import { instantOf } from "../../domain/shared/time.js";
import { AppError } from "../../domain/shared/app-error.js";
import { authOf } from "../../http/context.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import type { Services } from "../../services.js";
import { presentComparison, presentPageSpan, presentSpan, presentTrace } from "./present.js";

const DEFAULT_PAGE_SIZE = 20;

/** Ids are stored lowercase (PFIDs are; UUIDs are lowered on ingest). */
function traceIdOf(req: Request): string {
  return parseInput(AvTraceIdParamsSchema, req.params).trace_id.toLowerCase();
}

/** Why one batch entry does not match the contract, in one line. */
function validationMessage(item: unknown): { item: AvTraceBatchItem } | { message: string } {
  try {
    return { item: parseInput(AvTraceBatchItemSchema, item) };
  } catch (error) {
    if (error instanceof AppError) return { message: error.message };
    throw error;
  }
}

function claimedTraceId(item: unknown): string | null {
  const id = (item as { trace?: { trace_id?: unknown } } | null)?.trace?.trace_id;
  return typeof id === "string" ? id.slice(0, 128) : null;
}

export function registerTraceRoutes(av: Router, services: Services): void {
  av.post("/traces/batch", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "write");
    const { traces } = parseInput(AvTraceBatchEnvelopeSchema, req.body);
    const spanCount = traces.reduce<number>((n, t) => {
      const spans = (t as { spans?: unknown } | null)?.spans;
      return n + (Array.isArray(spans) ? spans.length : 0);
    }, 0);
    if (spanCount > AV_MAX_SPANS_PER_BATCH) {
      throw new AppError("invalid_value", `at most ${AV_MAX_SPANS_PER_BATCH} spans per request (got ${spanCount})`);
    }
    const valid: { index: number; item: AvTraceBatchItem }[] = [];
    const errors: BatchError[] = [];
    traces.forEach((raw, index) => {
      const checked = validationMessage(raw);
      if ("item" in checked) valid.push({ index, item: checked.item });
      else errors.push({ index, traceId: claimedTraceId(raw), message: checked.message });
    });
    const outcome = await services.traceIngest.ingestBatch(auth, valid);
    for (const e of outcome.errors) {
      if (e.detail) req.log.warn({ index: e.index, traceId: e.traceId, detail: e.detail }, "the database refused a value of a trace");
    }
    const all = [...errors, ...outcome.errors].sort((a, b) => a.index - b.index);
    respond(res, 200, AvTraceBatchResponseSchema, {
      accepted: outcome.accepted.length,
      rejected: all.length,
      errors: all.map((e) => ({ index: e.index, trace_id: e.traceId, message: e.message })),
    });
  });

  av.get("/dashboard/traces", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const q = parseInput(AvTraceListQuerySchema, req.query, "query");
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? DEFAULT_PAGE_SIZE;
    const result = await services.traces.list(auth, {
      page,
      pageSize,
      orderBy: q.order_by ?? "started_at",
      direction: q.order ?? "desc",
      filters: {
        agentName: q.agent,
        agentId: q.agent_id,
        status: q.status,
        success: q.success === undefined ? undefined : q.success === "true",
        outcome: q.outcome,
        startedFrom: q.start === undefined ? undefined : instantOf(q.start, "start"),
        startedTo: q.end === undefined ? undefined : instantOf(q.end, "end"),
        minDurationMs: q.min_duration_ms,
        maxDurationMs: q.max_duration_ms,
        q: q.q,
      },
    });
    respond(res, 200, AvTraceListResponseSchema, {
      results: result.rows.map(presentTrace),
      total: result.total,
      page,
      page_size: pageSize,
      has_next: result.hasNext,
    });
  });

  // Before /dashboard/traces/:trace_id, which would otherwise take "compare-agents" for an id.
  av.get("/dashboard/traces/compare-agents", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const q = parseInput(AvCompareAgentsQuerySchema, req.query, "query");
    const stats = await services.agentAnalytics.compare(auth, q.agent_a, q.agent_b, q.days === undefined ? undefined : Number(q.days));
    respond(res, 200, AvCompareAgentsResponseSchema, { agents: stats.map(presentComparison) });
  });

  av.get("/dashboard/traces/:trace_id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const traceId = traceIdOf(req);
    const q = parseInput(AvTraceDetailQuerySchema, req.query, "query");
    const page = await services.traces.get(auth, traceId, { limit: q.span_limit ?? AV_SPAN_PAGE_DEFAULT, cursor: q.span_cursor, payloads: q.span_payloads !== "none" });
    respond(res, 200, AvTraceDetailSchema, {
      ...presentTrace(page.trace),
      span_count: page.spanCount,
      next_span_cursor: page.nextCursor,
      spans: page.spans.map(presentPageSpan),
    });
  });

  av.get("/dashboard/traces/:trace_id/spans/:span_id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const params = parseInput(AvSpanIdParamsSchema, req.params);
    const span = await services.traces.getSpan(auth, params.trace_id.toLowerCase(), params.span_id.toLowerCase());
    respond(res, 200, AvSpanSchema, presentSpan(span));
  });

  av.patch("/dashboard/traces/:trace_id/outcome", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "write");
    const traceId = traceIdOf(req);
    const body = parseInput(AvOutcomeUpdateSchema, req.body);
    const row = await services.traces.setOutcome(auth, traceId, body.success, body.outcome);
    respond(res, 200, AvOutcomeResponseSchema, { trace_id: row.id, success: row.success, outcome: row.outcome });
  });
}
