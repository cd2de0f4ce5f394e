import type { Db } from "./types.js";

/** Monthly event counters (events = spans received), one row per account and UTC month ("2026-11"). */
export const usageRepository = {
  /**
   * Adds `events` to the month's counter unless the result would pass `limit` (no limit when
   * undefined). One statement, so concurrent batches cannot overshoot together. False = refused,
   * nothing added.
   */
  async reserveEvents(db: Db, accountId: string, month: string, events: number, limit: number | undefined): Promise<boolean> {
    if (limit !== undefined && events > limit) return false;
    const rows = await db.$queryRaw<{ events: unknown }[]>`
      INSERT INTO usage_counters AS cur (account_id, month, events) VALUES (${accountId}, ${month}, ${events})
      ON CONFLICT (account_id, month) DO UPDATE SET events = cur.events + EXCLUDED.events
      WHERE ${limit ?? null}::bigint IS NULL OR cur.events + EXCLUDED.events <= ${limit ?? null}::bigint
      RETURNING events`;
    return rows.length > 0;
  },

  /** Gives back events reserved for data that was not stored after all. */
  async releaseEvents(db: Db, accountId: string, month: string, events: number): Promise<void> {
    if (events <= 0) return;
    await db.$executeRaw`
      UPDATE usage_counters SET events = GREATEST(events - ${events}, 0) WHERE account_id = ${accountId} AND month = ${month}`;
  },

  async eventsOf(db: Db, accountId: string, month: string): Promise<number> {
    const row = await db.usageCounter.findUnique({ where: { accountId_month: { accountId, month } } });
    return row ? Number(row.events) : 0;
  },
};
