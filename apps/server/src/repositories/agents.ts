import type { Page } from "../model/page.js";
import { findOrInsert, type Db } from "./types.js";
import type { InstanceCountRow } from "../model/rows.js";

export const agentsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agent.findFirst({ where: { accountId, id } });
  },
  findByName(db: Db, accountId: string, name: string) {
    return db.agent.findUnique({ where: { accountId_name: { accountId, name } } });
  },
  findByExternalIdentifier(db: Db, accountId: string, externalIdentifier: string) {
    return db.agent.findUnique({ where: { accountId_externalIdentifier: { accountId, externalIdentifier } } });
  },
  /**
   * Creates the agent unless one of that name exists; safe under concurrency (ON CONFLICT), so
   * two ingests racing on a new agent name end with one agent.
   */
  async findOrCreateByName(db: Db, accountId: string, name: string, newId: string) {
    return findOrInsert(
      () => db.agent.findUnique({ where: { accountId_name: { accountId, name } } }),
      () => db.$executeRaw`
        INSERT INTO agents (id, account_id, name, retired, inserted_at, updated_at)
        VALUES (${newId}, ${accountId}, ${name}, false, now(), now())
        ON CONFLICT (account_id, name) DO NOTHING`,
      "agent",
    );
  },
  /** `onlyId`: the one agent a deployment token sees. */
  async list(db: Db, accountId: string, page: Page, orderBy: Record<string, "asc" | "desc">, onlyId?: string) {
    const where = { accountId, ...(onlyId === undefined ? {} : { id: onlyId }) };
    const [items, count] = await Promise.all([
      db.agent.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.agent.count({ where }),
    ]);
    return { items, count };
  },
  create(db: Db, data: { id: string; accountId: string; name: string; description?: string | null; externalIdentifier?: string | null }) {
    return db.agent.create({ data });
  },
  update(db: Db, accountId: string, id: string, data: { name?: string; description?: string | null; retired?: boolean }) {
    return db.agent.update({ where: { accountId_id: { accountId, id } }, data });
  },
  /**
   * Makes the version the agent's current one, unless it already is: a run registered with the
   * agent's current version (the common case) neither writes nor locks the agent's row, so the
   * registrations of one agent's concurrent runs do not queue on it until each commits.
   */
  async setCurrent(db: Db, accountId: string, id: string, versionId: string, schemaVersionId: string): Promise<void> {
    await db.$executeRaw`
      UPDATE agents SET current_version_id = ${versionId}, current_schema_version_id = ${schemaVersionId}, updated_at = now()
      WHERE account_id = ${accountId} AND id = ${id} AND (current_version_id IS DISTINCT FROM ${versionId} OR current_schema_version_id IS DISTINCT FROM ${schemaVersionId})`;
  },
  delete(db: Db, accountId: string, id: string) {
    return db.agent.delete({ where: { accountId_id: { accountId, id } } });
  },
  /** Instance counts by status for the given agents, in one grouped query. */
  instanceCounts(db: Db, accountId: string, agentIds: string[]) {
    if (agentIds.length === 0) return Promise.resolve([] as InstanceCountRow[]);
    return db.$queryRaw<InstanceCountRow[]>`
      SELECT agent_id, status, count(*)::int AS n FROM agent_instances
      WHERE account_id = ${accountId} AND agent_id = ANY(${agentIds})
      GROUP BY agent_id, status`;
  },
};
