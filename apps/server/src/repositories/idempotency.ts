import type { Db } from "./types.js";

export const idempotencyRepository = {
  /** Serializes requests that share a key, across replicas, until the transaction ends. */
  async lock(db: Db, accountId: string, key: string) {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${accountId}:${key}`}, 0))`;
  },
  find(db: Db, accountId: string, key: string) {
    return db.idempotencyRecord.findUnique({ where: { accountId_key: { accountId, key } } });
  },
  save(db: Db, data: { accountId: string; key: string; requestHash: string; statusCode: number; responseBody: string; expiresAt: Date }) {
    return db.idempotencyRecord.upsert({
      where: { accountId_key: { accountId: data.accountId, key: data.key } },
      create: data,
      update: { ...data, insertedAt: new Date() },
    });
  },
  deleteExpired(db: Db, now: Date) {
    return db.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  },
};
