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
  create(db: Db, data: P.SpanUncheckedCreateInput) {
    return db.span.create({ data });
  },
  /** Compare-and-set on status: of concurrent finishes of one span exactly one wins. */
  async finish(db: Db, accountId: string, id: string, from: string, data: P.SpanUncheckedUpdateManyInput) {
    const { count } = await db.span.updateMany({ where: { accountId, id, status: from }, data });
    return count === 1;
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
