import { MAX_SPANS_PER_RUN } from "@spyglass/contracts";
import { Prisma, type Prisma as P } from "../generated/prisma/client.js";
import { LIST_BYTE_BUDGET, type Page } from "../model/page.js";
import type { SpanUsageColumns } from "../model/rows.js";
import type { SqlDriver } from "../db/database.js";
import { runSql, type Db } from "./types.js";

export interface SpanFilters {
  agentInstanceId?: string;
  agentId?: string;
  startTime?: Date;
  endTime?: Date;
  schemaName?: string;
  status?: string;
}

export type SpanTimeField = "insertedAt" | "startedAt" | "finishedAt";
const TIME_COLUMNS: Record<SpanTimeField, string> = { insertedAt: "inserted_at", startedAt: "started_at", finishedAt: "finished_at" };

export type SpanRow = P.TypeMap["model"]["Span"]["payload"]["scalars"];

type RawSpan = {
  account_id: string; id: string; agent_instance_id: string; agent_id: string; parent_span_id: string | null; schema_name: string;
  name: string | null; status: string; payload: unknown; result_payload: unknown; summary: string | null; payload_validation: unknown;
  started_at: Date | null; finished_at: Date | null; duration_ms: bigint | number | string | null; model: string | null; input_tokens: number | null;
  output_tokens: number | null; total_tokens: number | null; cost_usd: SpanRow["costUsd"] | string; cost_computed: boolean; error_message: string | null; metadata: unknown;
  provisional_end: boolean; inserted_at: Date; updated_at: Date;
};

function fromRaw(r: RawSpan): SpanRow {
  return {
    accountId: r.account_id, id: r.id, agentInstanceId: r.agent_instance_id, agentId: r.agent_id, parentSpanId: r.parent_span_id,
    schemaName: r.schema_name, name: r.name, status: r.status, payload: r.payload as SpanRow["payload"],
    resultPayload: r.result_payload as SpanRow["resultPayload"], summary: r.summary, payloadValidation: r.payload_validation as SpanRow["payloadValidation"],
    startedAt: r.started_at, finishedAt: r.finished_at, durationMs: r.duration_ms === null ? null : BigInt(r.duration_ms), model: r.model,
    inputTokens: r.input_tokens, outputTokens: r.output_tokens, totalTokens: r.total_tokens,
    // The plain driver returns numeric as text; Prisma as a Decimal.
    costUsd: typeof r.cost_usd === "string" ? new Prisma.Decimal(r.cost_usd) : r.cost_usd, costComputed: r.cost_computed, errorMessage: r.error_message,
    metadata: r.metadata as SpanRow["metadata"], provisionalEnd: r.provisional_end, insertedAt: r.inserted_at, updatedAt: r.updated_at,
  };
}

/**
 * JSON goes to the database as text we serialized ourselves: Prisma's own JSON serialization
 * rebuilds objects by assignment, which silently drops a client's "__proto__" keys.
 */
const jsonText = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * An idempotency record written by the same statement as the span (so one round trip, no
 * interactive transaction): inserted only when the span write happened, and a plain INSERT, so a
 * key already recorded makes the whole statement fail (unique violation) and nothing is written.
 */
export interface SpanWriteRecord {
  key: string;
  requestHash: string;
  statusCode: number;
  /** Builds the response from the row as it will be stored (its timestamps are `at`). */
  body: (row: SpanRow) => string;
  expiresAt: Date;
}

export interface NewSpan {
  accountId: string;
  id: string;
  agentInstanceId: string;
  agentId: string;
  parentSpanId: string | null;
  schemaName: string;
  status: string;
  payload: unknown;
  resultPayload: unknown;
  summary: string | null;
  payloadValidation: unknown;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  /** Model, tokens and cost read from the payloads (and priced), when they name any. */
  usage: SpanUsageColumns | null;
  /** inserted_at and updated_at, chosen here so a stored response can carry them. */
  at: Date;
  /** The run's activity mark is rewritten when older than this (see activityMarkEveryMs). */
  activityEveryMs: number;
}

const decimal = (text: string | null) => (text === null ? null : new Prisma.Decimal(text));

const recordSql = (accountId: string, from: string, r: SpanWriteRecord | undefined, row: SpanRow | null) =>
  r && row
    ? Prisma.sql`, rec AS (
        INSERT INTO idempotency_records (account_id, key, request_hash, status_code, response_body, inserted_at, expires_at)
        SELECT ${accountId}, ${r.key}, ${r.requestHash}, ${r.statusCode}::int, ${r.body(row)}, now(), ${r.expiresAt}::timestamptz FROM ${Prisma.raw(from)}
      )`
    : Prisma.empty;

/** A token to check inside a write statement (its request recalled it: AccountsService.recall). */
export interface TokenCheck {
  tokenId: string;
  scope: string;
}

/**
 * The caller's token is still usable: the same test as authentication (active, not expired,
 * holding the scope), inside the statement; TRUE when the token was read for this request.
 */
function tokenGuardSql(token: TokenCheck | null): Prisma.Sql {
  if (!token) return Prisma.sql`TRUE`;
  return Prisma.sql`EXISTS (
    SELECT 1 FROM api_tokens t
    WHERE t.id = ${token.tokenId} AND t.status = 'active' AND (t.expires_at IS NULL OR t.expires_at > now()) AND ${token.scope} = ANY(t.scopes)
  )`;
}

/**
 * The run holds fewer than MAX_SPANS_PER_RUN spans (counted on the run's index, stopping at the
 * cap). Not locked, like the rest of the span insert: spans racing on a full run can pass it
 * together, by at most the writes in flight.
 */
function runHasRoomSql(accountId: string, instanceId: string): Prisma.Sql {
  return Prisma.sql`(SELECT count(*) FROM (
    SELECT 1 FROM spans c WHERE c.account_id = ${accountId} AND c.agent_instance_id = ${instanceId} LIMIT ${MAX_SPANS_PER_RUN}
  ) c) < ${MAX_SPANS_PER_RUN}`;
}

export const spansRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.span.findUnique({ where: { accountId_id: { accountId, id } } });
  },
  async runIsFull(db: Db, accountId: string, instanceId: string) {
    const [row] = await db.$queryRaw<{ room: boolean }[]>`SELECT ${runHasRoomSql(accountId, instanceId)} AS room`;
    return row?.room === false;
  },
  async exists(db: Db, accountId: string, id: string) {
    return (await db.span.count({ where: { accountId, id } })) > 0;
  },
  findParent(db: Db, accountId: string, id: string) {
    return db.span.findUnique({ where: { accountId_id: { accountId, id } }, select: { agentInstanceId: true } });
  },
  /**
   * Inserts the span in one statement, only while its run accepts spans (pending or active), its
   * parent (if any) is a span of the same run, and its id is free; the run's activity mark is
   * refreshed on the way. The run row is deliberately not locked: many spans of one run arrive at
   * once, and share-locking one hot row serializes them. A span racing a terminate may land just
   * after it; the sweeper closes such stragglers.
   * Null when a guard failed: the caller works out which.
   *
   * Prepared (see SqlDriver.query). Every lookup is a scalar subquery on a primary key alone, so
   * that a generic plan, should one be used (a pooler that drops the session's plan_cache_mode),
   * still finds rows by key once the tables have statistics: with the run's status or the
   * parent's run in the same WHERE, the generic plan preferred the (account, status) or (account,
   * run) index and scanned the account's open runs or the run's spans.
   */
  async createGuarded(sql: SqlDriver, s: NewSpan, record: SpanWriteRecord | undefined, token: TokenCheck | null): Promise<SpanRow | null> {
    const row: SpanRow = {
      accountId: s.accountId, id: s.id, agentInstanceId: s.agentInstanceId, agentId: s.agentId, parentSpanId: s.parentSpanId,
      schemaName: s.schemaName, name: null, status: s.status, payload: s.payload as SpanRow["payload"],
      resultPayload: (s.resultPayload ?? null) as SpanRow["resultPayload"], summary: s.summary,
      payloadValidation: s.payloadValidation as SpanRow["payloadValidation"], startedAt: s.startedAt, finishedAt: s.finishedAt,
      durationMs: s.durationMs === null ? null : BigInt(s.durationMs), model: s.usage?.model ?? null, inputTokens: s.usage?.inputTokens ?? null,
      outputTokens: s.usage?.outputTokens ?? null, totalTokens: s.usage?.totalTokens ?? null, costUsd: decimal(s.usage?.costUsd ?? null),
      costComputed: s.usage?.costComputed ?? false, errorMessage: null, metadata: null, provisionalEnd: false, insertedAt: s.at, updatedAt: s.at,
    };
    const rows = await runSql<{ id: string }>(sql, Prisma.sql`
      WITH run AS (
        SELECT ${s.agentInstanceId}::text AS id
        WHERE (SELECT i.status FROM agent_instances i WHERE i.account_id = ${s.accountId} AND i.id = ${s.agentInstanceId}) IN ('pending', 'active')
          AND ${tokenGuardSql(token)} AND ${runHasRoomSql(s.accountId, s.agentInstanceId)}
      ), touched AS (
        UPDATE agent_instances SET last_activity_at = now()
        WHERE account_id = ${s.accountId} AND id = ${s.agentInstanceId} AND last_activity_at < now() - ${s.activityEveryMs}::int * interval '1 millisecond'
          AND EXISTS (SELECT 1 FROM run)
      ), ins AS (
      INSERT INTO spans (account_id, id, agent_instance_id, agent_id, parent_span_id, schema_name, status, payload, result_payload,
                         summary, payload_validation, started_at, finished_at, duration_ms, model, input_tokens, output_tokens,
                         total_tokens, cost_usd, cost_computed, inserted_at, updated_at)
      SELECT ${s.accountId}, ${s.id}, ${s.agentInstanceId}, ${s.agentId}, ${s.parentSpanId}, ${s.schemaName}, ${s.status},
             ${jsonText(s.payload)}::jsonb, ${jsonText(s.resultPayload)}::jsonb, ${s.summary}, ${jsonText(s.payloadValidation)}::jsonb,
             ${s.startedAt}::timestamptz, ${s.finishedAt}::timestamptz, ${s.durationMs}::bigint, ${row.model}::text,
             ${row.inputTokens}::int, ${row.outputTokens}::int, ${row.totalTokens}::int, ${s.usage?.costUsd ?? null}::numeric, ${row.costComputed}::boolean,
             ${s.at}::timestamptz, ${s.at}::timestamptz
      FROM run
      WHERE ${s.parentSpanId}::text IS NULL
         OR (SELECT p.agent_instance_id FROM spans p WHERE p.account_id = ${s.accountId} AND p.id = ${s.parentSpanId}) = ${s.agentInstanceId}
      ON CONFLICT (account_id, id) DO NOTHING
      RETURNING id
      )${recordSql(s.accountId, "ins", record, row)}
      SELECT id FROM ins`, { prepared: true });
    // The row as stored is the row built above (same values, same timestamps): reading it back
    // would only cost PostgreSQL and the driver a round trip of the payload's JSON.
    return rows[0] ? row : null;
  },
  /** A span with what finishing it needs to know about its run, in one read. */
  async findWithRun(sql: SqlDriver, accountId: string, id: string) {
    const rows = await runSql<RawSpan & { run_status: string; run_termination_reason: string | null; run_schema_version_id: string | null }>(sql, Prisma.sql`
      SELECT s.*, i.status AS run_status, i.termination_reason AS run_termination_reason, i.agent_schema_version_id AS run_schema_version_id
      FROM spans s JOIN agent_instances i ON i.account_id = s.account_id AND i.id = s.agent_instance_id
      WHERE s.account_id = ${accountId} AND s.id = ${id}`);
    const r = rows[0];
    return r
      ? { span: fromRaw(r), run: { status: r.run_status, terminationReason: r.run_termination_reason, agentSchemaVersionId: r.run_schema_version_id } }
      : null;
  },
  /**
   * Compare-and-set on status: of concurrent finishes of one span exactly one wins (null for the
   * losers); also null when the run was terminated meanwhile or the `token` check fails. `before` is
   * the span as the caller knows it (read, or remembered from its creation). Prepared: every
   * lookup is by primary key alone, as in createGuarded.
   */
  async finish(
    sql: SqlDriver,
    accountId: string,
    id: string,
    from: string,
    d: {
      status: string; startedAt: Date | null; finishedAt: Date; durationMs: number | null; resultPayload: unknown; summary: string | null;
      payloadValidation: unknown; at: Date; activityEveryMs: number; usage: SpanUsageColumns | null;
    },
    before: SpanRow,
    record: SpanWriteRecord | undefined,
    token: TokenCheck | null,
  ): Promise<SpanRow | null> {
    const row: SpanRow = {
      ...before,
      status: d.status, startedAt: d.startedAt, finishedAt: d.finishedAt, durationMs: d.durationMs === null ? null : BigInt(d.durationMs),
      resultPayload: d.resultPayload as SpanRow["resultPayload"], summary: d.summary,
      payloadValidation: d.payloadValidation as SpanRow["payloadValidation"], updatedAt: d.at,
      ...(d.usage
        ? { model: d.usage.model, inputTokens: d.usage.inputTokens, outputTokens: d.usage.outputTokens, totalTokens: d.usage.totalTokens, costUsd: decimal(d.usage.costUsd), costComputed: d.usage.costComputed }
        : {}),
    };
    const rows = await runSql<{ id: string }>(sql, Prisma.sql`
      WITH upd AS (
      UPDATE spans SET status = ${d.status}, started_at = ${d.startedAt}::timestamptz, finished_at = ${d.finishedAt}::timestamptz,
             duration_ms = ${d.durationMs}::bigint,
             result_payload = ${jsonText(d.resultPayload)}::jsonb, summary = ${d.summary},
             payload_validation = ${jsonText(d.payloadValidation)}::jsonb, updated_at = ${d.at}::timestamptz,
             model = ${row.model}::text, input_tokens = ${row.inputTokens}::int, output_tokens = ${row.outputTokens}::int,
             total_tokens = ${row.totalTokens}::int, cost_usd = ${row.costUsd === null ? null : row.costUsd.toString()}::numeric, cost_computed = ${row.costComputed}::boolean
      WHERE account_id = ${accountId} AND id = ${id} AND status = ${from} AND ${tokenGuardSql(token)}
        AND (SELECT i.status FROM agent_instances i WHERE i.account_id = ${accountId} AND i.id = ${before.agentInstanceId}) IS DISTINCT FROM 'terminated'
      RETURNING id
      ), touched AS (
        UPDATE agent_instances SET last_activity_at = now()
        WHERE account_id = ${accountId} AND id = ${before.agentInstanceId}
          AND last_activity_at < now() - ${d.activityEveryMs}::int * interval '1 millisecond' AND EXISTS (SELECT 1 FROM upd)
      )${recordSql(accountId, "upd", record, row)}
      SELECT id FROM upd`, { prepared: true });
    return rows[0] ? row : null;
  },
  /**
   * A page of spans and the total count, on the plain driver: the list is a hot read (a run's
   * waterfall), and Prisma's model query path cost several times the query on 100 rows of JSON.
   */
  async list(sql: SqlDriver, accountId: string, filters: SpanFilters, page: Page, orderBy: Partial<Record<SpanTimeField, "asc" | "desc">>) {
    const parts: Prisma.Sql[] = [Prisma.sql`account_id = ${accountId}`];
    if (filters.agentInstanceId) parts.push(Prisma.sql`agent_instance_id = ${filters.agentInstanceId}`);
    if (filters.agentId) parts.push(Prisma.sql`agent_id = ${filters.agentId}`);
    if (filters.schemaName) parts.push(Prisma.sql`schema_name = ${filters.schemaName}`);
    if (filters.status) parts.push(Prisma.sql`status = ${filters.status}`);
    if (filters.startTime) parts.push(Prisma.sql`started_at >= ${filters.startTime}`);
    if (filters.endTime) parts.push(Prisma.sql`started_at < ${filters.endTime}`);
    const where = Prisma.join(parts, " AND ");
    const [field, direction] = (Object.entries(orderBy)[0] ?? ["startedAt", "asc"]) as [SpanTimeField, "asc" | "desc"];
    const dir = direction === "desc" ? Prisma.sql`DESC` : Prisma.sql`ASC`;
    // Prisma's order: nulls last ascending, first descending (PostgreSQL's default).
    const order = Prisma.sql`ORDER BY ${Prisma.raw(TIME_COLUMNS[field])} ${dir}, id ASC`;
    // Payloads are returned whole, so the page ends once the spans before a span reach the byte
    // budget (that span is the last): 100 spans of megabytes each never come back at once.
    const [rows, counted] = await Promise.all([
      runSql<RawSpan>(sql, Prisma.sql`
        SELECT * FROM (
          SELECT page.*, COALESCE(sum(
            octet_length(payload::text) + COALESCE(octet_length(result_payload::text), 0) + COALESCE(octet_length(metadata::text), 0)
            + COALESCE(octet_length(payload_validation::text), 0) + COALESCE(octet_length(error_message), 0) + COALESCE(octet_length(summary), 0)
          ) OVER (${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS bytes_before
          FROM (SELECT * FROM spans WHERE ${where} ${order} LIMIT ${page.pageSize} OFFSET ${page.offset}) page
        ) sized
        WHERE bytes_before < ${LIST_BYTE_BUDGET}
        ${order}`),
      runSql<{ n: number }>(sql, Prisma.sql`SELECT count(*)::int AS n FROM spans WHERE ${where}`),
    ]);
    return { items: rows.map(fromRaw), count: counted[0]?.n ?? 0 };
  },
  /** The schema version each run of `instanceIds` was registered with. */
  async schemaVersionsOf(db: Db, accountId: string, instanceIds: string[]) {
    if (instanceIds.length === 0) return new Map<string, string | null>();
    const rows = await db.$queryRaw<{ id: string; version: string | null }[]>`
      SELECT id, agent_schema_version_id AS version FROM agent_instances WHERE account_id = ${accountId} AND id = ANY(${instanceIds}::text[])`;
    return new Map(rows.map((r) => [r.id, r.version]));
  },
};
