import type { Db } from "./types.js";

export const agentsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agent.findFirst({ where: { accountId, id } });
  },
  findByName(db: Db, accountId: string, name: string) {
    return db.agent.findUnique({ where: { accountId_name: { accountId, name } } });
  },
  /**
   * Creates the agent unless one of that name exists; safe under concurrency (ON CONFLICT), so
   * two ingests racing on a new agent name end with one agent.
   */
  async findOrCreateByName(db: Db, accountId: string, name: string, newId: string) {
    await db.$executeRaw`
      INSERT INTO agents (id, account_id, name, retired, inserted_at, updated_at)
      VALUES (${newId}, ${accountId}, ${name}, false, now(), now())
      ON CONFLICT (account_id, name) DO NOTHING`;
    const agent = await db.agent.findUnique({ where: { accountId_name: { accountId, name } } });
    if (!agent) throw new Error("agent vanished after upsert");
    return agent;
  },
};
