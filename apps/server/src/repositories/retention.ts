import type { SqlDriver } from "../db/database.js";
import { INSTANCE_STATUSES } from "../model/status.js";

export interface RetentionBatch {
  runs: number;
  spans: number;
}

export const retentionRepository = {
  /** Accounts whose runs expire: their own retention_days, or `defaultDays` when they have none. */
  async accountsWithRetention(sql: SqlDriver, defaultDays: number | null): Promise<{ id: string; days: number }[]> {
    return sql.query<{ id: string; days: number }>(
      `SELECT id, COALESCE(retention_days, $1::int) AS days FROM accounts WHERE COALESCE(retention_days, $1::int) IS NOT NULL ORDER BY id`,
      [defaultDays],
    );
  },

  /**
   * Deletes up to `limit` runs of one account that ended and were last active before `cutoff`,
   * with their spans, in one statement (its own short transaction). Rows locked by a write in
   * progress are skipped, never waited for. The status list lets the (account_id, status,
   * last_activity_at) index find the runs.
   */
  async deleteExpired(sql: SqlDriver, accountId: string, cutoff: Date, limit: number): Promise<RetentionBatch> {
    const [row] = await sql.query<{ runs: number; spans: number }>(
      `WITH doomed AS (
         SELECT id FROM agent_instances
         WHERE account_id = $1 AND status = ANY($2::text[]) AND last_activity_at < $3 AND (finished_at IS NULL OR finished_at < $3)
         LIMIT $4 FOR UPDATE SKIP LOCKED
       ), spans_gone AS (
         DELETE FROM spans s USING doomed d WHERE s.account_id = $1 AND s.agent_instance_id = d.id RETURNING 1
       ), runs_gone AS (
         DELETE FROM agent_instances r USING doomed d WHERE r.account_id = $1 AND r.id = d.id RETURNING 1
       )
       SELECT (SELECT count(*) FROM runs_gone)::int AS runs, (SELECT count(*) FROM spans_gone)::int AS spans`,
      [accountId, [...INSTANCE_STATUSES], cutoff, limit],
    );
    return { runs: row?.runs ?? 0, spans: row?.spans ?? 0 };
  },
};
