import type { Db } from "./types.js";

export const accountsRepository = {
  first(db: Db) {
    return db.account.findFirst({ orderBy: { insertedAt: "asc" } });
  },
  findById(db: Db, id: string) {
    return db.account.findUnique({ where: { id } });
  },
  create(db: Db, data: { id: string; name: string; pfidPartition: number }) {
    return db.account.create({ data });
  },
  setRetention(db: Db, id: string, retentionDays: number | null) {
    return db.account.update({ where: { id }, data: { retentionDays } });
  },
  createEnvironment(db: Db, data: { id: string; accountId: string; name: string; isDefault: boolean }) {
    return db.environment.create({ data });
  },
};
