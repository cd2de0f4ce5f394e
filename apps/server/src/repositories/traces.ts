import { AV_TRUNCATE_OVER_BYTES, AV_TRUNCATED_PREVIEW_CHARS } from "@spyglass/contracts";
import { Prisma } from "../generated/prisma/client.js";
import { TIMED_OUT_REASON, type InstanceStatus, type SpanStatus, type TraceStatus } from "../model/status.js";
import type { SqlDriver } from "../db/database.js";
import { runSince, runUntil } from "./trace-stats.js";
import { runSql, type Db } from "./types.js";
import type { SpanPageRow, SpanPosition, SpanRow, SpanUsageColumns, TraceRow } from "../model/rows.js";

// Runs (agent_instances) and spans as the trace dialect writes and reads them. A batch is written
// by one call of the spyglass_ingest_traces function (see its migration): multi-row statements,
// one per table per trace, whatever the number of spans, in one round trip and one commit.

const OPEN_INSTANCE = Prisma.sql`('pending', 'active')`;
const OPEN_SPAN = Prisma.sql`('pending', 'active')`;

export interface InstanceWrite {
  id: string;
  status: InstanceStatus;
  terminationReason: string | null;
  /** ISO 8601 UTC timestamps. */
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  success: boolean | null;
  outcome: string | null;
  errorMessage: string | null;
  /** JSON text. */
  metadata: string | null;
}

export interface SpanWrite extends SpanUsageColumns {
  id: string;
  parentSpanId: string | null;
  schemaName: string;
  name: string;
  status: SpanStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** JSON text of an object; null = not given. */
  payload: string | null;
  resultPayload: string | null;
  metadata: string | null;
  errorMessage: string | null;
}

/** One trace of a batch as the ingest function takes it. */
export interface TraceBatchWrite {
  /** Echoed back with a rejection. */
  index: number;
  agentName: string;
  instance: InstanceWrite;
  spans: SpanWrite[];
  /** What the client reported; null means "the sum over the llm spans". */
  reportedTotals: { tokens: number | null; costUsd: string | null };
  /**
   * OTLP: the run is assembled from spans arriving over several exports (its start is the
   * earliest, its agent and status are its root span's); `hasRoot`: this write carries the root.
   */
  assembly?: { hasRoot: boolean; joinOtherAgent: boolean };
}

/**
 * JSON text of an object with some members already JSON text (payloads, metadata), spliced in as
 * nested JSON rather than escaped again as strings: they are most of the bytes of a batch.
 */
function withJsonMembers(head: Record<string, unknown>, nested: Record<string, string | null>): string {
  let text = JSON.stringify(head).slice(0, -1);
  for (const [key, json] of Object.entries(nested)) if (json !== null) text += `,"${key}":${json}`;
  return `${text}}`;
}

function spanRowsJson(spans: SpanWrite[]): string {
  const rows = spans.map((s) =>
    withJsonMembers(
      {
        id: s.id,
        parent_span_id: s.parentSpanId,
        schema_name: s.schemaName,
        name: s.name,
        status: s.status,
        started_at: s.startedAt,
        finished_at: s.finishedAt,
        duration_ms: s.durationMs,
        model: s.model,
        input_tokens: s.inputTokens,
        output_tokens: s.outputTokens,
        total_tokens: s.totalTokens,
        cost_usd: s.costUsd,
        cost_computed: s.costComputed,
        error_message: s.errorMessage,
      },
      { payload: s.payload, result_payload: s.resultPayload, metadata: s.metadata },
    ),
  );
  return `[${rows.join(",")}]`;
}

function traceRowsJson(traces: TraceBatchWrite[]): string {
  const rows = traces.map((t) => {
    const i = t.instance;
    return withJsonMembers(
      {
        idx: t.index,
        trace_id: i.id,
        agent_name: t.agentName,
        status: i.status,
        termination_reason: i.terminationReason,
        started_at: i.startedAt,
        finished_at: i.finishedAt,
        duration_ms: i.durationMs,
        success: i.success,
        outcome: i.outcome,
        error_message: i.errorMessage,
        total_tokens: t.reportedTotals.tokens,
        total_cost_usd: t.reportedTotals.costUsd,
        assemble: t.assembly !== undefined,
        has_root: t.assembly?.hasRoot ?? false,
        join_other_agent: t.assembly?.joinOtherAgent ?? false,
      },
      { metadata: i.metadata, spans: spanRowsJson(t.spans) },
    );
  });
  return `[${rows.join(",")}]`;
}

export interface TraceFilters {
  agentId?: string;
  agentName?: string;
  status?: TraceStatus;
  success?: boolean;
  outcome?: string;
  startedFrom?: Date;
  startedTo?: Date;
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Case-insensitive substring of agent name, outcome, error message or trace id. */
  q?: string;
}

export type TraceOrderField = "started_at" | "duration_ms" | "total_cost_usd";

export interface TraceListOptions {
  orderBy: TraceOrderField;
  direction: "asc" | "desc";
  offset: number;
  limit: number;
}

/** SQL condition on `i` (agent_instances) for a trace status of the AgentVista vocabulary. */
export function traceStatusCondition(status: TraceStatus): Prisma.Sql {
  switch (status) {
    case "running":
      return Prisma.sql`i.status IN ${OPEN_INSTANCE}`;
    case "completed":
      return Prisma.sql`i.status = 'complete'`;
    case "timed_out":
      return Prisma.sql`i.status = 'terminated'`;
    case "failed":
      return Prisma.sql`i.status IN ('failed', 'cancelled')`;
  }
}

const TRACE_HEAD_COLUMNS = Prisma.sql`
  i.id, i.agent_id AS "agentId", COALESCE(a.name, '') AS "agentName", i.status, i.termination_reason AS "terminationReason",
  COALESCE(i.started_at, i.inserted_at) AS "startedAt", i.finished_at AS "finishedAt", i.duration_ms::float8 AS "durationMs",
  i.success, i.outcome, i.error_message AS "errorMessage", i.total_tokens::float8 AS "totalTokens",
  i.total_cost_usd::text AS "totalCostUsd"`;

const TRACE_COLUMNS = Prisma.sql`${TRACE_HEAD_COLUMNS}, i.metadata`;

/**
 * A JSON value whose text is `text`: whole up to AV_TRUNCATE_OVER_BYTES bytes, else the
 * AvTruncatedJson marker, built in the database so a large payload never reaches this process.
 */
function summarised(value: Prisma.Sql, text: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`CASE WHEN octet_length(${text}) > ${AV_TRUNCATE_OVER_BYTES}
    THEN jsonb_build_object('_truncated', true, 'size_bytes', octet_length(${text}), 'preview', left(${text}, ${AV_TRUNCATED_PREVIEW_CHARS}))
    ELSE ${value} END`;
}

/** Lists show many traces: their metadata summarised. */
const TRACE_LIST_COLUMNS = Prisma.sql`${TRACE_HEAD_COLUMNS}, ${summarised(Prisma.sql`i.metadata`, Prisma.sql`i.metadata::text`)} AS metadata`;

const SPAN_COLUMNS = Prisma.sql`
  s.id, s.agent_instance_id AS "traceId", s.parent_span_id AS "parentSpanId", s.schema_name AS "schemaName", s.name, s.status,
  COALESCE(s.started_at, s.inserted_at) AS "startedAt", s.finished_at AS "finishedAt", s.duration_ms::float8 AS "durationMs", s.model,
  s.input_tokens AS "inputTokens", s.output_tokens AS "outputTokens", s.total_tokens AS "totalTokens",
  s.cost_usd::text AS "costUsd", s.cost_computed AS "costComputed", s.error_message AS "errorMessage", s.summary, s.payload_validation AS "payloadValidation"`;

const TRACE_FROM = Prisma.sql`agent_instances i LEFT JOIN agents a ON a.account_id = i.account_id AND a.id = i.agent_id`;

function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function traceWhere(accountId: string, f: TraceFilters): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`i.account_id = ${accountId}`];
  if (f.agentId !== undefined) parts.push(Prisma.sql`i.agent_id = ${f.agentId}`);
  if (f.agentName !== undefined) parts.push(Prisma.sql`a.name = ${f.agentName}`);
  if (f.status !== undefined) parts.push(traceStatusCondition(f.status));
  if (f.success !== undefined) parts.push(Prisma.sql`i.success = ${f.success}`);
  if (f.outcome !== undefined) parts.push(Prisma.sql`i.outcome = ${f.outcome}`);
  if (f.startedFrom !== undefined) parts.push(runSince(f.startedFrom));
  if (f.startedTo !== undefined) parts.push(runUntil(f.startedTo));
  if (f.minDurationMs !== undefined) parts.push(Prisma.sql`i.duration_ms >= ${f.minDurationMs}`);
  if (f.maxDurationMs !== undefined) parts.push(Prisma.sql`i.duration_ms <= ${f.maxDurationMs}`);
  if (f.q !== undefined && f.q !== "") {
    const pattern = likePattern(f.q);
    parts.push(
      Prisma.sql`(a.name ILIKE ${pattern} OR i.outcome ILIKE ${pattern} OR i.error_message ILIKE ${pattern} OR i.id ILIKE ${pattern})`,
    );
  }
  return Prisma.join(parts, " AND ");
}

const ORDER_COLUMNS: Record<TraceOrderField, Prisma.Sql> = {
  started_at: Prisma.sql`i.started_at`,
  duration_ms: Prisma.sql`i.duration_ms`,
  total_cost_usd: Prisma.sql`i.total_cost_usd`,
};

export const tracesRepository = {
  /**
   * Stores a batch of traces in one call (the `spyglass_ingest_traces` function, see its
   * migration): per trace, the run is inserted or its header moved forward, its spans inserted or
   * updated while open, and its totals refreshed, all or nothing per trace. Agents named by the
   * batch are created when missing (with the ids given). Returns the traces rejected and why.
   */
  async ingestBatch(sql: SqlDriver, accountId: string, agents: { name: string; newId: string }[], traces: TraceBatchWrite[]) {
    if (traces.length === 0) return [];
    const agentsJson = JSON.stringify(agents.map((a) => ({ name: a.name, new_id: a.newId })));
    return sql.query<{ idx: number; reason: string }>("SELECT rejected_idx AS idx, reason FROM spyglass_ingest_traces($1, $2::jsonb, $3::jsonb)", [
      accountId,
      agentsJson,
      traceRowsJson(traces),
    ]);
  },

  /**
   * A run's effective totals recomputed from its llm spans (unless the client reported them): after
   * a Prefactor span write that brought tokens or a cost. Recomputed rather than added to, so a
   * lost update heals with the run's next one.
   */
  async refreshTotals(sql: SqlDriver, accountId: string, runId: string): Promise<void> {
    await sql.query(
      `UPDATE agent_instances i SET
         total_tokens = CASE WHEN i.tokens_explicit THEN i.total_tokens ELSE s.tokens END,
         total_cost_usd = CASE WHEN i.cost_explicit THEN i.total_cost_usd ELSE s.cost END, updated_at = now()
       FROM (SELECT SUM(total_tokens)::bigint AS tokens, SUM(cost_usd) AS cost FROM spans
             WHERE account_id = $1 AND agent_instance_id = $2 AND schema_name = 'llm') s
       WHERE i.account_id = $1 AND i.id = $2 AND NOT (i.tokens_explicit AND i.cost_explicit)`,
      [accountId, runId],
    );
  },

  // The dashboard's reads run on the plain driver (runSql): they are the hot reads, and Prisma's
  // per-query machinery cost more than the queries. Casts keep every value's type as declared.

  async findTrace(sql: SqlDriver, accountId: string, id: string): Promise<TraceRow | null> {
    const rows = await runSql<TraceRow>(sql, Prisma.sql`
      SELECT ${TRACE_COLUMNS} FROM ${TRACE_FROM} WHERE i.account_id = ${accountId} AND i.id = ${id}`);
    return rows[0] ?? null;
  },

  async listTraces(sql: SqlDriver, accountId: string, filters: TraceFilters, opts: TraceListOptions): Promise<{ rows: TraceRow[]; total: number }> {
    const where = traceWhere(accountId, filters);
    const dir = opts.direction === "asc" ? Prisma.sql`ASC` : Prisma.sql`DESC`;
    // The page and the count in parallel (two pooled connections): the latency of one, not the sum.
    const [rows, [count]] = await Promise.all([
      runSql<TraceRow>(sql, Prisma.sql`
        SELECT ${TRACE_LIST_COLUMNS} FROM ${TRACE_FROM} WHERE ${where}
        ORDER BY ${ORDER_COLUMNS[opts.orderBy]} ${dir}, i.id ${dir}
        LIMIT ${opts.limit} OFFSET ${opts.offset}`),
      runSql<{ total: number }>(sql, Prisma.sql`SELECT count(*)::int AS total FROM ${TRACE_FROM} WHERE ${where}`),
    ]);
    return { rows, total: count?.total ?? 0 };
  },

  /**
   * Up to `limit` spans of a run in waterfall order (started_at, else inserted_at, ascending, then
   * id), after `after`; input, output and metadata summarised by the database.
   */
  listSpanPage(sql: SqlDriver, accountId: string, traceId: string, after: SpanPosition | null, limit: number, payloads: boolean) {
    const sortKey = Prisma.sql`COALESCE(started_at, inserted_at)`;
    const start = after === null ? Prisma.empty : Prisma.sql`AND (${sortKey}, id) > (${after.startedAt}::timestamptz, ${after.id})`;
    // Without payloads no JSON column is read at all: the tree of a large run for a waterfall.
    const json = payloads
      ? Prisma.sql`
        ${summarised(Prisma.sql`s.payload`, Prisma.sql`t.payload`)} AS payload,
        ${summarised(Prisma.sql`s.result_payload`, Prisma.sql`t.result_payload`)} AS "resultPayload",
        ${summarised(Prisma.sql`s.metadata`, Prisma.sql`t.metadata`)} AS metadata,
        COALESCE(octet_length(t.payload) > ${AV_TRUNCATE_OVER_BYTES} OR octet_length(t.result_payload) > ${AV_TRUNCATE_OVER_BYTES}
          OR octet_length(t.metadata) > ${AV_TRUNCATE_OVER_BYTES}, false) AS truncated`
      : Prisma.sql`NULL::jsonb AS payload, NULL::jsonb AS "resultPayload", NULL::jsonb AS metadata, true AS truncated`;
    const text = payloads
      ? Prisma.sql`CROSS JOIN LATERAL (SELECT s.payload::text AS payload, s.result_payload::text AS result_payload, s.metadata::text AS metadata OFFSET 0) t`
      : Prisma.empty;
    // The page is chosen on keys alone, so only its own spans' JSON is ever turned into text.
    return runSql<SpanPageRow>(sql, Prisma.sql`
      SELECT ${SPAN_COLUMNS}, ${json}
      FROM (
        SELECT id, ${sortKey} AS sort_key FROM spans
        WHERE account_id = ${accountId} AND agent_instance_id = ${traceId} ${start}
        ORDER BY ${sortKey} ASC, id ASC LIMIT ${limit}
      ) page
      JOIN spans s ON s.account_id = ${accountId} AND s.id = page.id
      ${text}
      ORDER BY page.sort_key ASC, page.id ASC`);
  },

  /** Per run of `traceIds`, its stored spans other than `spanIds` (runs without any are absent). */
  async countOtherSpans(sql: SqlDriver, accountId: string, traceIds: string[], spanIds: string[]): Promise<Map<string, number>> {
    const rows = await runSql<{ id: string; n: number }>(sql, Prisma.sql`
      SELECT agent_instance_id AS id, count(*)::int AS n FROM spans
      WHERE account_id = ${accountId} AND agent_instance_id = ANY(${traceIds}::text[]) AND NOT (id = ANY(${spanIds}::text[]))
      GROUP BY agent_instance_id`);
    return new Map(rows.map((r) => [r.id, r.n]));
  },

  async countSpans(sql: SqlDriver, accountId: string, traceId: string): Promise<number> {
    const [row] = await runSql<{ n: number }>(sql, Prisma.sql`
      SELECT count(*)::int AS n FROM spans WHERE account_id = ${accountId} AND agent_instance_id = ${traceId}`);
    return row?.n ?? 0;
  },

  /** One span of a run, whole. */
  async findSpan(sql: SqlDriver, accountId: string, traceId: string, spanId: string): Promise<SpanRow | null> {
    const rows = await runSql<SpanRow>(sql, Prisma.sql`
      SELECT ${SPAN_COLUMNS}, s.payload, s.result_payload AS "resultPayload", s.metadata
      FROM spans s WHERE s.account_id = ${accountId} AND s.agent_instance_id = ${traceId} AND s.id = ${spanId}`);
    return rows[0] ?? null;
  },

  /** Sets success and, unless undefined, outcome. Null when the run does not exist (or is not onlyAgentId's). */
  async setOutcome(db: Db, accountId: string, id: string, success: boolean, outcome: string | null | undefined, onlyAgentId: string | null) {
    const rows = await db.$queryRaw<{ id: string; success: boolean; outcome: string | null }[]>`
      UPDATE agent_instances SET success = ${success},
        outcome = CASE WHEN ${outcome === undefined} THEN outcome ELSE ${outcome ?? null}::text END,
        updated_at = now()
      WHERE account_id = ${accountId} AND id = ${id} AND (${onlyAgentId}::text IS NULL OR agent_id = ${onlyAgentId}::text)
      RETURNING id, success, outcome`;
    return rows[0] ?? null;
  },

  /**
   * Marks every open run (all accounts) without activity since `cutoff` as terminated/timed_out
   * and closes its open spans (pending -> cancelled, active -> failed), in one statement; both are
   * marked provisional (real terminal data replaces them). Ends are never before starts (a start
   * may lie up to a day ahead of the server's clock).
   */
  async sweepStaleRuns(db: Db, now: Date, cutoff: Date): Promise<{ runs: number; spans: number }> {
    const [row] = await db.$queryRaw<{ runs: number; spans: number }[]>`
      WITH swept AS (
        UPDATE agent_instances SET
          status = 'terminated', termination_reason = ${TIMED_OUT_REASON}, provisional_end = true,
          finished_at = GREATEST(${now}::timestamptz, started_at),
          duration_ms = CASE WHEN started_at IS NULL THEN duration_ms
                             ELSE LEAST(GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - started_at)) * 1000, 0), 2147483647)::int END,
          updated_at = ${now}
        WHERE status IN ${OPEN_INSTANCE} AND last_activity_at < ${cutoff}
        RETURNING account_id, id
      ), closed AS (
        UPDATE spans s SET
          status = CASE WHEN s.status = 'pending' THEN 'cancelled' ELSE 'failed' END,
          started_at = COALESCE(s.started_at, ${now}),
          finished_at = GREATEST(${now}::timestamptz, s.started_at),
          duration_ms = CASE WHEN s.started_at IS NULL THEN 0
                             ELSE LEAST(GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - s.started_at)) * 1000, 0), 2147483647)::int END,
          provisional_end = true,
          updated_at = ${now}
        FROM swept
        WHERE s.account_id = swept.account_id AND s.agent_instance_id = swept.id AND s.status IN ${OPEN_SPAN}
        RETURNING 1
      ), stragglers AS (
        -- Spans that landed on a run just as it finished or was terminated (span writes do not lock
        -- the run): closed like the run's other open spans. Every end of a run marks its activity.
        UPDATE spans s SET
          status = CASE WHEN s.status = 'pending' THEN 'cancelled' ELSE 'failed' END,
          started_at = COALESCE(s.started_at, ${now}),
          finished_at = GREATEST(${now}::timestamptz, s.started_at),
          duration_ms = CASE WHEN s.started_at IS NULL THEN 0
                             ELSE GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - s.started_at)) * 1000, 0)::bigint END,
          provisional_end = i.provisional_end,
          updated_at = ${now}
        FROM agent_instances i
        WHERE i.status IN ('complete', 'failed', 'cancelled', 'terminated') AND i.last_activity_at >= ${now}::timestamptz - interval '1 hour'
          AND s.account_id = i.account_id AND s.agent_instance_id = i.id AND s.status IN ${OPEN_SPAN}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM swept)::int AS runs,
             ((SELECT count(*) FROM closed) + (SELECT count(*) FROM stragglers))::int AS spans`;
    return row ?? { runs: 0, spans: 0 };
  },
};
