import type { Prisma as P } from "../generated/prisma/client.js";
import type { Page } from "../http/list.js";
import type { Db } from "./types.js";

export interface SpanFilters {
  agentInstanceId?: string;
  agentId?: string;
  startTime?: Date;
  endTime?: Date;
  schemaName?: string;
  status?: string;
}

export type SpanRow = P.TypeMap["model"]["Span"]["payload"]["scalars"];

type RawSpan = {
  account_id: string; id: string; agent_instance_id: string; agent_id: string; parent_span_id: string | null; schema_name: string;
  name: string | null; status: string; payload: unknown; result_payload: unknown; summary: string | null; payload_validation: unknown;
  started_at: Date | null; finished_at: Date | null; duration_ms: bigint | number | null; model: string | null; input_tokens: number | null;
  output_tokens: number | null; total_tokens: number | null; cost_usd: SpanRow["costUsd"]; error_message: string | null; metadata: unknown;
  inserted_at: Date; updated_at: Date;
};

function fromRaw(r: RawSpan): SpanRow {
  return {
    accountId: r.account_id, id: r.id, agentInstanceId: r.agent_instance_id, agentId: r.agent_id, parentSpanId: r.parent_span_id,
    schemaName: r.schema_name, name: r.name, status: r.status, payload: r.payload as SpanRow["payload"],
    resultPayload: r.result_payload as SpanRow["resultPayload"], summary: r.summary, payloadValidation: r.payload_validation as SpanRow["payloadValidation"],
    startedAt: r.started_at, finishedAt: r.finished_at, durationMs: r.duration_ms === null ? null : BigInt(r.duration_ms), model: r.model,
    inputTokens: r.input_tokens, outputTokens: r.output_tokens, totalTokens: r.total_tokens, costUsd: r.cost_usd, errorMessage: r.error_message,
    metadata: r.metadata as SpanRow["metadata"], insertedAt: r.inserted_at, updatedAt: r.updated_at,
  };
}

/**
 * JSON goes to the database as text we serialized ourselves: Prisma's own JSON serialization
 * rebuilds objects by assignment, which silently drops a client's "__proto__" keys.
 */
const jsonText = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

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
}

export const spansRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.span.findUnique({ where: { accountId_id: { accountId, id } } });
  },
  async exists(db: Db, accountId: string, id: string) {
    return (await db.span.count({ where: { accountId, id } })) > 0;
  },
  findParent(db: Db, accountId: string, id: string) {
    return db.span.findUnique({ where: { accountId_id: { accountId, id } }, select: { agentInstanceId: true } });
  },
  async create(db: Db, s: NewSpan): Promise<SpanRow> {
    const rows = await db.$queryRaw<RawSpan[]>`
      INSERT INTO spans (account_id, id, agent_instance_id, agent_id, parent_span_id, schema_name, status, payload, result_payload,
                         summary, payload_validation, started_at, finished_at, duration_ms, inserted_at, updated_at)
      VALUES (${s.accountId}, ${s.id}, ${s.agentInstanceId}, ${s.agentId}, ${s.parentSpanId}, ${s.schemaName}, ${s.status},
              ${jsonText(s.payload)}::jsonb, ${jsonText(s.resultPayload)}::jsonb, ${s.summary}, ${jsonText(s.payloadValidation)}::jsonb,
              ${s.startedAt}, ${s.finishedAt}, ${s.durationMs}, now(), now())
      RETURNING *`;
    return fromRaw(rows[0]!);
  },
  /** Compare-and-set on status: of concurrent finishes of one span exactly one wins (null for the losers). */
  async finish(
    db: Db,
    accountId: string,
    id: string,
    from: string,
    d: { status: string; startedAt: Date | null; finishedAt: Date; durationMs: number | null; resultPayload: unknown; summary: string | null; payloadValidation: unknown },
  ): Promise<SpanRow | null> {
    const rows = await db.$queryRaw<RawSpan[]>`
      UPDATE spans SET status = ${d.status}, started_at = ${d.startedAt}, finished_at = ${d.finishedAt}, duration_ms = ${d.durationMs},
             result_payload = ${jsonText(d.resultPayload)}::jsonb, summary = ${d.summary},
             payload_validation = ${jsonText(d.payloadValidation)}::jsonb, updated_at = now()
      WHERE account_id = ${accountId} AND id = ${id} AND status = ${from}
      RETURNING *`;
    return rows[0] ? fromRaw(rows[0]) : null;
  },
  /** Closes the run's open spans at `at`: active ones fail, pending ones are cancelled. */
  closeOpen(db: Db, accountId: string, instanceId: string, at: Date) {
    return db.$executeRaw`
      UPDATE spans SET
        status = CASE WHEN status = 'active' THEN 'failed' ELSE 'cancelled' END,
        started_at = COALESCE(started_at, ${at}),
        finished_at = ${at},
        updated_at = now()
      WHERE account_id = ${accountId} AND agent_instance_id = ${instanceId} AND status IN ('pending', 'active')`;
  },
  async list(db: Db, accountId: string, filters: SpanFilters, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where: P.SpanWhereInput = {
      accountId,
      ...(filters.agentInstanceId ? { agentInstanceId: filters.agentInstanceId } : {}),
      ...(filters.agentId ? { agentId: filters.agentId } : {}),
      ...(filters.schemaName ? { schemaName: filters.schemaName } : {}),
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.startTime || filters.endTime
        ? { startedAt: { ...(filters.startTime ? { gte: filters.startTime } : {}), ...(filters.endTime ? { lt: filters.endTime } : {}) } }
        : {}),
    };
    const [items, count] = await Promise.all([
      db.span.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.span.count({ where }),
    ]);
    return { items, count };
  },
  /** The schema version each run of `instanceIds` was registered with. */
  async schemaVersionsOf(db: Db, accountId: string, instanceIds: string[]) {
    const rows = await db.agentInstance.findMany({
      where: { accountId, id: { in: instanceIds } },
      select: { id: true, agentSchemaVersionId: true },
    });
    return new Map(rows.map((r) => [r.id, r.agentSchemaVersionId]));
  },
};
