import type { Prisma as P } from "../generated/prisma/client.js";
import type { Page } from "../model/page.js";
import type { Db } from "./types.js";
import type { SpanCountRow } from "../model/rows.js";

export interface InstanceFilters {
  agentId?: string;
  status?: string;
  environmentId?: string;
  startedAfter?: Date;
  startedBefore?: Date;
}

export const instancesRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agentInstance.findUnique({ where: { accountId_id: { accountId, id } } });
  },
  create(db: Db, data: P.AgentInstanceUncheckedCreateInput) {
    return db.agentInstance.create({ data });
  },
  /** Applies `data` only while the instance is in one of `from`: the state machine's compare-and-set. */
  async transition(db: Db, accountId: string, id: string, from: string[], data: P.AgentInstanceUncheckedUpdateManyInput) {
    const { count } = await db.agentInstance.updateMany({ where: { accountId, id, status: { in: from } }, data });
    return count === 1;
  },
  /**
   * Ends a run while it is in one of `from` (or, with `overProvisional`, while its end is a
   * provisional time-out), and closes its open spans at `closeAt` (active -> failed, pending ->
   * cancelled; never before their start): one statement, so that no span of an ended run stays
   * open. Marks the run's activity, so the sweeper also closes spans that land just after.
   */
  async end(
    db: Db,
    accountId: string,
    id: string,
    from: string[],
    overProvisional: boolean,
    d: { status: string; terminationReason: string | null; startedAt: Date | null; finishedAt: Date; durationMs: bigint | null; updatedAt: Date },
  ): Promise<boolean> {
    const [row] = await db.$queryRaw<{ ended: number }[]>`
      WITH ended AS (
        UPDATE agent_instances SET status = ${d.status}, termination_reason = ${d.terminationReason}, started_at = ${d.startedAt}::timestamptz,
          finished_at = ${d.finishedAt}::timestamptz, duration_ms = ${d.durationMs}::bigint, provisional_end = false,
          last_activity_at = now(), updated_at = ${d.updatedAt}::timestamptz
        WHERE account_id = ${accountId} AND id = ${id}
          AND (status = ANY(${from}::text[]) OR (${overProvisional} AND status = 'terminated' AND provisional_end))
        RETURNING id
      ), closed AS (
        UPDATE spans SET
          status = CASE WHEN status = 'active' THEN 'failed' ELSE 'cancelled' END,
          started_at = COALESCE(started_at, ${d.finishedAt}::timestamptz),
          finished_at = GREATEST(${d.finishedAt}::timestamptz, started_at),
          duration_ms = (EXTRACT(EPOCH FROM (GREATEST(${d.finishedAt}::timestamptz, started_at) - COALESCE(started_at, ${d.finishedAt}::timestamptz))) * 1000)::bigint,
          updated_at = now()
        WHERE account_id = ${accountId} AND agent_instance_id = ${id} AND status IN ('pending', 'active') AND EXISTS (SELECT 1 FROM ended)
      )
      SELECT count(*)::int AS ended FROM ended`;
    return row?.ended === 1;
  },
  async list(db: Db, accountId: string, filters: InstanceFilters, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where: P.AgentInstanceWhereInput = {
      accountId,
      ...(filters.agentId ? { agentId: filters.agentId } : {}),
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.environmentId ? { environmentId: filters.environmentId } : {}),
      // A run that has not started is placed at its registration, as in every window of both dialects.
      AND: [
        ...(filters.startedAfter ? [{ OR: [{ startedAt: { gte: filters.startedAfter } }, { startedAt: null, insertedAt: { gte: filters.startedAfter } }] }] : []),
        ...(filters.startedBefore ? [{ OR: [{ startedAt: { lt: filters.startedBefore } }, { startedAt: null, insertedAt: { lt: filters.startedBefore } }] }] : []),
      ],
    };
    const [items, count] = await Promise.all([
      db.agentInstance.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.agentInstance.count({ where }),
    ]);
    return { items, count };
  },
  spanCounts(db: Db, accountId: string, instanceIds: string[]) {
    if (instanceIds.length === 0) return Promise.resolve([] as SpanCountRow[]);
    return db.$queryRaw<SpanCountRow[]>`
      SELECT agent_instance_id, status, count(*)::int AS n FROM spans
      WHERE account_id = ${accountId} AND agent_instance_id = ANY(${instanceIds})
      GROUP BY agent_instance_id, status`;
  },
};
