import type { Db } from "./types.js";

export const idempotencyRepository = {
  /**
   * Claims the key for this transaction: inserts a pending record (or takes over an expired one).
   * A concurrent claim of the same key waits on the unique index until this transaction ends, so
   * two replicas racing on one key produce one effect. False when someone else holds a live record.
   */
  async claim(db: Db, accountId: string, key: string, requestHash: string, expiresAt: Date): Promise<boolean> {
    const rows = await db.$queryRaw<{ claimed: number }[]>`
      INSERT INTO idempotency_records (account_id, key, request_hash, status_code, response_body, inserted_at, expires_at)
      VALUES (${accountId}, ${key}, ${requestHash}, 0, '', now(), ${expiresAt})
      ON CONFLICT (account_id, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, status_code = 0, response_body = '', inserted_at = now(), expires_at = EXCLUDED.expires_at
        WHERE idempotency_records.expires_at < now()
      RETURNING 1 AS claimed`;
    return rows.length === 1;
  },
  find(db: Db, accountId: string, key: string) {
    return db.idempotencyRecord.findUnique({ where: { accountId_key: { accountId, key } } });
  },
  /** Whether any of the keys has a record (live or expired). */
  async anyOf(db: Db, accountId: string, keys: string[]): Promise<boolean> {
    return (await db.idempotencyRecord.findFirst({ where: { accountId, key: { in: keys } }, select: { key: true } })) !== null;
  },
  complete(db: Db, accountId: string, key: string, statusCode: number, responseBody: string) {
    return db.$executeRaw`
      UPDATE idempotency_records SET status_code = ${statusCode}, response_body = ${responseBody}
      WHERE account_id = ${accountId} AND key = ${key}`;
  },
  deleteIfExpired(db: Db, accountId: string, key: string) {
    return db.$executeRaw`DELETE FROM idempotency_records WHERE account_id = ${accountId} AND key = ${key} AND expires_at <= now()`;
  },
  /**
   * Deletes up to `limit` records that expired before `now`, oldest first, across all accounts;
   * how many it deleted. Small batches keep each statement short; records another transaction is
   * claiming right now are skipped (SKIP LOCKED), so replicas purging together neither wait on
   * each other nor on a request.
   */
  async deleteExpired(db: Db, now: Date, limit: number): Promise<number> {
    return db.$executeRaw`
      DELETE FROM idempotency_records WHERE (account_id, key) IN (
        SELECT account_id, key FROM idempotency_records WHERE expires_at < ${now}
        ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
  },
};
