import type { Db } from "./types.js";
import type { Page } from "../model/page.js";

export const environmentsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.environment.findFirst({ where: { accountId, id } });
  },
  findDefault(db: Db, accountId: string) {
    return db.environment.findFirst({ where: { accountId, isDefault: true }, orderBy: { insertedAt: "asc" } });
  },
  async list(db: Db, accountId: string, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const [items, count] = await Promise.all([
      db.environment.findMany({ where: { accountId }, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.environment.count({ where: { accountId } }),
    ]);
    return { items, count };
  },
  create(db: Db, data: { id: string; accountId: string; name: string }) {
    return db.environment.create({ data });
  },
  update(db: Db, id: string, name: string) {
    return db.environment.update({ where: { id }, data: { name } });
  },
  delete(db: Db, id: string) {
    return db.environment.delete({ where: { id } });
  },
  async inUse(db: Db, accountId: string, id: string) {
    return (await db.agentInstance.count({ where: { accountId, environmentId: id }, take: 1 })) > 0;
  },
};
