import { Prisma } from "../generated/prisma/client.js";
import { TIMED_OUT_REASON, type InstanceStatus, type SpanStatus, type TraceStatus } from "../domain/runs/status.js";
import type { Db } from "./types.js";

// Runs (agent_instances) and spans as the trace dialect writes and reads them. Writes are
// multi-row statements: one per table per trace, whatever the number of spans.

const OPEN_INSTANCE = Prisma.sql`('pending', 'active')`;
const OPEN_SPAN = Prisma.sql`('pending', 'active')`;
// On a repeated run: a finished run reported again as running keeps its status and finish fields.
const KEEP = Prisma.sql`(cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active'))`;

export interface InstanceWrite {
  accountId: string;
  id: string;
  agentId: string;
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

export interface SpanWrite {
  id: string;
  parentSpanId: string | null;
  schemaName: string;
  name: string;
  status: SpanStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  /** Decimal text, rounded to 6 places by the column. */
  costUsd: string | null;
  /** JSON text of an object; null = not given. */
  payload: string | null;
  resultPayload: string | null;
  metadata: string | null;
  errorMessage: string | null;
}

/**
 * The spans as one JSON array for json_to_recordset: one parameter instead of an array per column,
 * and the payloads (already JSON text) spliced in as nested JSON rather than escaped again as
 * strings, which is most of the bytes of a batch.
 */
function spanRowsJson(spans: SpanWrite[]): string {
  const rows = spans.map((s) => {
    const { payload, resultPayload, metadata, ...scalars } = s;
    const head = JSON.stringify({
      id: scalars.id,
      parent_span_id: scalars.parentSpanId,
      schema_name: scalars.schemaName,
      name: scalars.name,
      status: scalars.status,
      started_at: scalars.startedAt,
      finished_at: scalars.finishedAt,
      duration_ms: scalars.durationMs,
      model: scalars.model,
      input_tokens: scalars.inputTokens,
      output_tokens: scalars.outputTokens,
      total_tokens: scalars.totalTokens,
      cost_usd: scalars.costUsd,
      error_message: scalars.errorMessage,
    });
    const nested = [
      payload === null ? "" : `,"payload":${payload}`,
      resultPayload === null ? "" : `,"result_payload":${resultPayload}`,
      metadata === null ? "" : `,"metadata":${metadata}`,
    ].join("");
    return `${head.slice(0, -1)}${nested}}`;
  });
  return `[${rows.join(",")}]`;
}

export interface TraceRow {
  id: string;
  agentId: string;
  agentName: string;
  status: string;
  terminationReason: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  success: boolean | null;
  outcome: string | null;
  errorMessage: string | null;
  totalTokens: number | null;
  /** Decimal text with 6 places. */
  totalCostUsd: string | null;
  metadata: Record<string, unknown> | null;
}

export interface SpanRow {
  id: string;
  traceId: string;
  parentSpanId: string | null;
  schemaName: string;
  name: string | null;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  costUsd: string | null;
  payload: Record<string, unknown>;
  resultPayload: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  errorMessage: string | null;
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
      return Prisma.sql`(i.status = 'terminated' AND i.termination_reason = ${TIMED_OUT_REASON})`;
    case "failed":
      return Prisma.sql`(i.status IN ('failed', 'cancelled') OR (i.status = 'terminated' AND i.termination_reason IS DISTINCT FROM ${TIMED_OUT_REASON}))`;
  }
}

const TRACE_COLUMNS = Prisma.sql`
  i.id, i.agent_id AS "agentId", COALESCE(a.name, '') AS "agentName", i.status, i.termination_reason AS "terminationReason",
  COALESCE(i.started_at, i.inserted_at) AS "startedAt", i.finished_at AS "finishedAt", i.duration_ms::float8 AS "durationMs",
  i.success, i.outcome, i.error_message AS "errorMessage", i.total_tokens::float8 AS "totalTokens",
  i.total_cost_usd::text AS "totalCostUsd", i.metadata`;

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
  if (f.startedFrom !== undefined) parts.push(Prisma.sql`i.started_at >= ${f.startedFrom}`);
  if (f.startedTo !== undefined) parts.push(Prisma.sql`i.started_at <= ${f.startedTo}`);
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
   * Inserts the run or moves its header forward. A finished run is never taken back to running by
   * a late or repeated report (its status and finish fields stay). Returns null when the id is
   * taken by a run of another agent (nothing is changed then). Takes the run's row lock first, so
   * concurrent batches on one trace are serialized from here to their commit.
   */
  async upsertInstance(db: Db, w: InstanceWrite): Promise<{ status: string } | null> {
    const rows = await db.$queryRaw<{ status: string }[]>`
      INSERT INTO agent_instances AS cur (
        account_id, id, agent_id, environment_id, status, termination_reason, started_at, finished_at, duration_ms,
        success, outcome, error_message, metadata, last_activity_at, inserted_at, updated_at)
      VALUES (
        ${w.accountId}, ${w.id}, ${w.agentId},
        (SELECT e.id FROM environments e WHERE e.account_id = ${w.accountId} AND e.is_default ORDER BY e.inserted_at LIMIT 1),
        ${w.status}, ${w.terminationReason}, ${w.startedAt}::timestamptz, ${w.finishedAt}::timestamptz, ${w.durationMs}::bigint,
        ${w.success}::boolean, ${w.outcome}, ${w.errorMessage}, ${w.metadata}::jsonb, now(), now(), now())
      ON CONFLICT (account_id, id) DO UPDATE SET
        status = CASE WHEN ${KEEP} THEN cur.status ELSE EXCLUDED.status END,
        termination_reason = CASE WHEN ${KEEP} THEN cur.termination_reason ELSE EXCLUDED.termination_reason END,
        finished_at = CASE WHEN ${KEEP} THEN cur.finished_at
                           WHEN EXCLUDED.status IN ${OPEN_INSTANCE} THEN NULL
                           ELSE COALESCE(EXCLUDED.finished_at, cur.finished_at) END,
        duration_ms = CASE WHEN ${KEEP} THEN cur.duration_ms
                           WHEN EXCLUDED.status IN ${OPEN_INSTANCE} THEN NULL
                           ELSE COALESCE(EXCLUDED.duration_ms, cur.duration_ms) END,
        error_message = CASE WHEN ${KEEP} THEN cur.error_message ELSE COALESCE(EXCLUDED.error_message, cur.error_message) END,
        started_at = EXCLUDED.started_at,
        -- Feedback is set once by ingest; afterwards only PATCH .../outcome changes it, so a resent
        -- batch cannot undo an operator's verdict.
        success = COALESCE(cur.success, EXCLUDED.success),
        outcome = COALESCE(cur.outcome, EXCLUDED.outcome),
        metadata = COALESCE(EXCLUDED.metadata, cur.metadata),
        environment_id = COALESCE(cur.environment_id, EXCLUDED.environment_id),
        last_activity_at = now(),
        updated_at = now()
      WHERE cur.agent_id = EXCLUDED.agent_id
      RETURNING cur.status`;
    return rows[0] ?? null;
  },

  /**
   * Inserts the spans of one run, or updates those still open (a finished span is immutable).
   * Spans of another run with the same id are left alone (callers check ownership first).
   */
  async upsertSpans(db: Db, accountId: string, traceId: string, agentId: string, spans: SpanWrite[]): Promise<void> {
    if (spans.length === 0) return;
    await db.$executeRaw`
      INSERT INTO spans AS cur (
        account_id, id, agent_instance_id, agent_id, parent_span_id, schema_name, name, status, payload, result_payload,
        payload_validation, started_at, finished_at, duration_ms, model, input_tokens, output_tokens, total_tokens, cost_usd,
        error_message, metadata, inserted_at, updated_at)
      SELECT ${accountId}, t.id, ${traceId}, ${agentId}, t.parent_span_id, t.schema_name, t.name, t.status,
        COALESCE(t.payload, '{}'::jsonb), t.result_payload, '{"status":"unchecked","errors":[]}'::jsonb,
        t.started_at, t.finished_at, t.duration_ms, t.model, t.input_tokens, t.output_tokens,
        t.total_tokens, t.cost_usd::numeric(20, 6), t.error_message, t.metadata, now(), now()
      FROM json_to_recordset(${spanRowsJson(spans)}::json) AS t(
        id text, parent_span_id text, schema_name text, name text, status text, payload jsonb, result_payload jsonb,
        started_at timestamptz, finished_at timestamptz, duration_ms bigint, model text, input_tokens int, output_tokens int,
        total_tokens int, cost_usd numeric, error_message text, metadata jsonb)
      ON CONFLICT (account_id, id) DO UPDATE SET
        parent_span_id = COALESCE(EXCLUDED.parent_span_id, cur.parent_span_id),
        schema_name = EXCLUDED.schema_name,
        name = EXCLUDED.name,
        status = EXCLUDED.status,
        payload = CASE WHEN EXCLUDED.payload = '{}'::jsonb THEN cur.payload ELSE EXCLUDED.payload END,
        result_payload = COALESCE(EXCLUDED.result_payload, cur.result_payload),
        started_at = EXCLUDED.started_at,
        finished_at = COALESCE(EXCLUDED.finished_at, cur.finished_at),
        duration_ms = COALESCE(EXCLUDED.duration_ms, cur.duration_ms),
        model = COALESCE(EXCLUDED.model, cur.model),
        input_tokens = COALESCE(EXCLUDED.input_tokens, cur.input_tokens),
        output_tokens = COALESCE(EXCLUDED.output_tokens, cur.output_tokens),
        total_tokens = COALESCE(EXCLUDED.total_tokens, cur.total_tokens),
        cost_usd = COALESCE(EXCLUDED.cost_usd, cur.cost_usd),
        error_message = COALESCE(EXCLUDED.error_message, cur.error_message),
        metadata = COALESCE(EXCLUDED.metadata, cur.metadata),
        updated_at = now()
      WHERE cur.agent_instance_id = EXCLUDED.agent_instance_id AND cur.status IN ${OPEN_SPAN}`;
  },

  /**
   * Stores the run's effective totals: the reported ones, else the sums over its llm spans.
   * `totals_explicit` records whether the client reported any.
   */
  async refreshTotals(db: Db, accountId: string, traceId: string, reported: { tokens: number | null; costUsd: string | null }) {
    await db.$executeRaw`
      UPDATE agent_instances i SET
        total_tokens = COALESCE(${reported.tokens}::bigint, s.tokens),
        total_cost_usd = COALESCE(${reported.costUsd}::numeric(20, 6), s.cost),
        totals_explicit = ${reported.tokens !== null || reported.costUsd !== null}
      FROM (
        SELECT SUM(total_tokens)::bigint AS tokens, SUM(cost_usd) AS cost
        FROM spans WHERE account_id = ${accountId} AND agent_instance_id = ${traceId} AND schema_name = 'llm'
      ) AS s
      WHERE i.account_id = ${accountId} AND i.id = ${traceId}`;
  },

  /** For each of these span ids that exists: the run it belongs to. */
  spanOwners(db: Db, accountId: string, spanIds: string[]) {
    if (spanIds.length === 0) return Promise.resolve([]);
    return db.$queryRaw<{ id: string; traceId: string }[]>`
      SELECT id, agent_instance_id AS "traceId" FROM spans WHERE account_id = ${accountId} AND id = ANY(${spanIds}::text[])`;
  },

  async findTrace(db: Db, accountId: string, id: string): Promise<TraceRow | null> {
    const rows = await db.$queryRaw<TraceRow[]>`
      SELECT ${TRACE_COLUMNS} FROM ${TRACE_FROM} WHERE i.account_id = ${accountId} AND i.id = ${id}`;
    return rows[0] ?? null;
  },

  async listTraces(db: Db, accountId: string, filters: TraceFilters, opts: TraceListOptions): Promise<{ rows: TraceRow[]; total: number }> {
    const where = traceWhere(accountId, filters);
    const dir = opts.direction === "asc" ? Prisma.sql`ASC` : Prisma.sql`DESC`;
    const rows = await db.$queryRaw<TraceRow[]>`
      SELECT ${TRACE_COLUMNS} FROM ${TRACE_FROM} WHERE ${where}
      ORDER BY ${ORDER_COLUMNS[opts.orderBy]} ${dir}, i.id ${dir}
      LIMIT ${opts.limit} OFFSET ${opts.offset}`;
    const [count] = await db.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM ${TRACE_FROM} WHERE ${where}`;
    return { rows, total: count?.total ?? 0 };
  },

  /** Every span of a run in waterfall order: started_at ascending, then id. */
  listSpans(db: Db, accountId: string, traceId: string) {
    return db.$queryRaw<SpanRow[]>`
      SELECT id, agent_instance_id AS "traceId", parent_span_id AS "parentSpanId", schema_name AS "schemaName", name, status,
        COALESCE(started_at, inserted_at) AS "startedAt", finished_at AS "finishedAt", duration_ms::float8 AS "durationMs", model,
        input_tokens AS "inputTokens", output_tokens AS "outputTokens", total_tokens AS "totalTokens",
        cost_usd::text AS "costUsd", payload, result_payload AS "resultPayload", metadata, error_message AS "errorMessage"
      FROM spans WHERE account_id = ${accountId} AND agent_instance_id = ${traceId}
      ORDER BY COALESCE(started_at, inserted_at) ASC, id ASC`;
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
   * and closes its open spans (pending -> cancelled, active -> failed), in one statement.
   */
  async sweepStaleRuns(db: Db, now: Date, cutoff: Date): Promise<{ runs: number; spans: number }> {
    const [row] = await db.$queryRaw<{ runs: number; spans: number }[]>`
      WITH swept AS (
        UPDATE agent_instances SET
          status = 'terminated', termination_reason = ${TIMED_OUT_REASON}, finished_at = ${now},
          duration_ms = CASE WHEN started_at IS NULL THEN duration_ms
                             ELSE LEAST(GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - started_at)) * 1000, 0), 2147483647)::int END,
          updated_at = ${now}
        WHERE status IN ${OPEN_INSTANCE} AND last_activity_at < ${cutoff}
        RETURNING account_id, id
      ), closed AS (
        UPDATE spans s SET
          status = CASE WHEN s.status = 'pending' THEN 'cancelled' ELSE 'failed' END,
          started_at = COALESCE(s.started_at, ${now}),
          finished_at = ${now},
          duration_ms = CASE WHEN s.started_at IS NULL THEN 0
                             ELSE LEAST(GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - s.started_at)) * 1000, 0), 2147483647)::int END,
          updated_at = ${now}
        FROM swept
        WHERE s.account_id = swept.account_id AND s.agent_instance_id = swept.id AND s.status IN ${OPEN_SPAN}
        RETURNING 1
      ), stragglers AS (
        -- Spans that landed on a run just as it was terminated (span writes do not lock the run)
        -- or were reported open after it timed out: closed like the run's other open spans.
        UPDATE spans s SET
          status = CASE WHEN s.status = 'pending' THEN 'cancelled' ELSE 'failed' END,
          started_at = COALESCE(s.started_at, ${now}),
          finished_at = ${now},
          duration_ms = CASE WHEN s.started_at IS NULL THEN 0
                             ELSE GREATEST(EXTRACT(EPOCH FROM (${now}::timestamptz - s.started_at)) * 1000, 0)::bigint END,
          updated_at = ${now}
        FROM agent_instances i
        WHERE i.status = 'terminated' AND i.last_activity_at >= ${now}::timestamptz - interval '1 day'
          AND s.account_id = i.account_id AND s.agent_instance_id = i.id AND s.status IN ${OPEN_SPAN}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM swept)::int AS runs,
             ((SELECT count(*) FROM closed) + (SELECT count(*) FROM stragglers))::int AS spans`;
    return row ?? { runs: 0, spans: 0 };
  },
};
