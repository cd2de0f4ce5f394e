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
  /** Marks activity for the stale-run sweeper, writing at most once a minute per run. */
  touch(db: Db, accountId: string, id: string) {
    return db.$executeRaw`
      UPDATE agent_instances SET last_activity_at = now()
      WHERE account_id = ${accountId} AND id = ${id} AND last_activity_at < now() - interval '60 seconds'`;
  },
  async list(db: Db, accountId: string, filters: InstanceFilters, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where: P.AgentInstanceWhereInput = {
      accountId,
      ...(filters.agentId ? { agentId: filters.agentId } : {}),
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.environmentId ? { environmentId: filters.environmentId } : {}),
      ...(filters.startedAfter || filters.startedBefore
        ? { startedAt: { ...(filters.startedAfter ? { gte: filters.startedAfter } : {}), ...(filters.startedBefore ? { lt: filters.startedBefore } : {}) } }
        : {}),
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
