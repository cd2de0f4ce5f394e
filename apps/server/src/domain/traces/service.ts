import { AV_SPAN_PAGE_BUDGET_BYTES } from "@spyglass/contracts";
import type { Prisma, SqlDriver } from "../../db/database.js";
import { agentsRepository } from "../../repositories/agents.js";
import { tracesRepository, type TraceFilters, type TraceOrderField } from "../../repositories/traces.js";
import type { SpanPageRow, SpanPosition } from "../../model/rows.js";
import type { AuthContext } from "../accounts/service.js";
import { agentFilter, canSeeAgent } from "../catalog/service.js";
import { AppError, notFound } from "../shared/app-error.js";

/**
 * Spans read per query while filling a page: each span read is bounded (its JSON fields are
 * summarised), so a chunk is too, and the byte budget is checked between chunks' rows.
 */
const SPAN_CHUNK = 200;

/** The opaque span cursor: where the previous page ended. */
function encodeCursor(p: SpanPosition): string {
  return Buffer.from(JSON.stringify([p.startedAt.toISOString(), p.id])).toString("base64url");
}

function decodeCursor(cursor: string): SpanPosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    const startedAt = new Date(typeof at === "string" ? at : Number.NaN);
    if (typeof id === "string" && id.length <= 128 && !Number.isNaN(startedAt.getTime())) return { startedAt, id };
  } catch {
    // Falls through to the error below: any unreadable cursor is the client's mistake.
  }
  throw new AppError("invalid_value", "span_cursor: not a cursor this API gave out", { fields: [{ path: "span_cursor", message: "not a cursor this API gave out" }] });
}

export interface SpanPageRequest {
  limit: number;
  cursor?: string;
  /** false: the spans without input, output and metadata (marked truncated). */
  payloads: boolean;
}

export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface TraceListRequest extends PageRequest {
  filters: TraceFilters;
  orderBy: TraceOrderField;
  direction: "asc" | "desc";
}

/** Reading runs as traces (header + spans) and recording their outcome. */
export class TracesService {
  constructor(
    private readonly prisma: Prisma,
    private readonly sql: SqlDriver,
  ) {}

  async list(auth: AuthContext, req: TraceListRequest) {
    const filters = { ...req.filters, agentId: agentFilter(auth, req.filters.agentId) };
    const { rows, total } = await tracesRepository.listTraces(this.sql, auth.accountId, filters, {
      orderBy: req.orderBy,
      direction: req.direction,
      offset: (req.page - 1) * req.pageSize,
      limit: req.pageSize,
    });
    return { rows, total, hasNext: req.page * req.pageSize < total };
  }

  /** Runs of one agent, newest first; 404 when the agent is not the caller's. */
  async listOfAgent(auth: AuthContext, agentId: string, page: PageRequest) {
    if (!canSeeAgent(auth, agentId) || !(await agentsRepository.findById(this.prisma, auth.accountId, agentId))) throw notFound("agent");
    return this.list(auth, { ...page, filters: { agentId }, orderBy: "started_at", direction: "desc" });
  }

  /**
   * A trace with one page of its spans: at most `limit`, and no more once the page's spans reach
   * AV_SPAN_PAGE_BUDGET_BYTES of JSON (the span crossing it is the last). `nextCursor` is null
   * when the page ends the trace.
   */
  async get(auth: AuthContext, traceId: string, page: SpanPageRequest) {
    const start = page.cursor === undefined ? null : decodeCursor(page.cursor);
    // The header, the count and the first chunk at once (spans of a missing trace are simply none).
    const [trace, spanCount, firstChunk] = await Promise.all([
      tracesRepository.findTrace(this.sql, auth.accountId, traceId),
      tracesRepository.countSpans(this.sql, auth.accountId, traceId),
      this.spanChunk(auth, traceId, start, page),
    ]);
    if (!trace || !canSeeAgent(auth, trace.agentId)) throw notFound("trace");
    const spans: SpanPageRow[] = [];
    let bytes = 0;
    let chunk = firstChunk;
    for (;;) {
      const want = Math.min(page.limit - spans.length, SPAN_CHUNK);
      for (const row of chunk.slice(0, want)) {
        if (spans.length > 0 && bytes >= AV_SPAN_PAGE_BUDGET_BYTES) return { trace, spanCount, spans, nextCursor: encodeCursor(spans.at(-1)!) };
        spans.push(row);
        bytes += Buffer.byteLength(JSON.stringify(row));
      }
      if (chunk.length <= want) return { trace, spanCount, spans, nextCursor: null };
      if (spans.length === page.limit) return { trace, spanCount, spans, nextCursor: encodeCursor(spans.at(-1)!) };
      chunk = await this.spanChunk(auth, traceId, spans.at(-1)!, { ...page, limit: page.limit - spans.length });
    }
  }

  /** The next chunk of a page, one span more than it takes, to tell whether another follows. */
  private spanChunk(auth: AuthContext, traceId: string, after: SpanPosition | null, remaining: SpanPageRequest) {
    return tracesRepository.listSpanPage(this.sql, auth.accountId, traceId, after, Math.min(remaining.limit, SPAN_CHUNK) + 1, remaining.payloads);
  }

  /** One span of a trace, whole; 404 when either is not the caller's. */
  async getSpan(auth: AuthContext, traceId: string, spanId: string) {
    const [span, trace] = await Promise.all([
      tracesRepository.findSpan(this.sql, auth.accountId, traceId, spanId),
      auth.agentId ? tracesRepository.findTrace(this.sql, auth.accountId, traceId) : null,
    ]);
    if (!span || (auth.agentId && (!trace || !canSeeAgent(auth, trace.agentId)))) throw notFound("span");
    return span;
  }

  /** Sets success, and outcome unless undefined (null clears it). */
  async setOutcome(auth: AuthContext, traceId: string, success: boolean, outcome: string | null | undefined) {
    // An agent_deployment token may only label its own agent's runs.
    const row = await tracesRepository.setOutcome(this.prisma, auth.accountId, traceId, success, outcome, auth.agentId);
    if (!row) throw notFound("trace");
    return row;
  }
}
