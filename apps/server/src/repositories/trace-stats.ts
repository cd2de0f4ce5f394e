import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "./types.js";
import type { AgentRunStats } from "../model/rows.js";

// Aggregates over runs, computed by the database (never by loading runs or spans). Each run's
// effective totals live on its agent_instances row, so no query here reads spans. Fractions are
// rounded to 6 places in SQL and come back as JSON-ready numbers.

const COMPLETED = Prisma.sql`i.status = 'complete'`;
/** AgentVista's failed or timed_out: every way a run can end other than complete. */
const FAILED = Prisma.sql`i.status IN ('failed', 'cancelled', 'terminated')`;
const RUN_TIME = Prisma.sql`COALESCE(i.started_at, i.inserted_at)`;

/**
 * RUN_TIME >= since, written so the (account_id, agent_id, started_at) index serves it: a run that
 * never started (started_at NULL) falls back to inserted_at, in every window and time filter of
 * both dialects.
 */
export const runSince = (since: Date) => Prisma.sql`(i.started_at >= ${since} OR (i.started_at IS NULL AND i.inserted_at >= ${since}))`;
/** RUN_TIME <= until, likewise. */
export const runUntil = (until: Date) => Prisma.sql`(i.started_at <= ${until} OR (i.started_at IS NULL AND i.inserted_at <= ${until}))`;

export interface DayStats {
  date: string;
  totalRuns: number;
  successfulRuns: number;
  failedRuns: number;
  totalCost: number;
  avgDurationMs: number | null;
  p95DurationMs: number | null;
}

export const traceStatsRepository = {
  /**
   * Figures per agent over its runs started since `since` (all time when undefined): every agent
   * of the account, or only `agentIds`. Agents without runs are included with zero counts.
   */
  agentRunStats(db: Db, accountId: string, opts: { agentIds?: string[]; since?: Date }) {
    const window = opts.since ? Prisma.sql`AND ${runSince(opts.since)}` : Prisma.empty;
    const only = opts.agentIds ? Prisma.sql`AND a.id = ANY(${opts.agentIds}::text[])` : Prisma.empty;
    return db.$queryRaw<AgentRunStats[]>`
      SELECT a.id AS "agentId", a.name, a.inserted_at AS "createdAt",
        count(i.id)::int AS "totalRuns",
        (count(i.id) FILTER (WHERE ${COMPLETED}))::int AS "completedRuns",
        (count(i.id) FILTER (WHERE ${FAILED}))::int AS "failedRuns",
        (count(i.id) FILTER (WHERE i.success IS TRUE))::int AS "successfulRuns",
        (count(i.id) FILTER (WHERE i.success IS FALSE))::int AS "unsuccessfulRuns",
        ROUND(100.0 * count(i.id) FILTER (WHERE i.success IS TRUE)
              / NULLIF(count(i.id) FILTER (WHERE i.success IS NOT NULL), 0), 6)::float8 AS "successRate",
        COALESCE(ROUND(100.0 * count(i.id) FILTER (WHERE ${FAILED}) / NULLIF(count(i.id), 0), 6), 0)::float8 AS "errorRate",
        ROUND(COALESCE(SUM(i.total_cost_usd), 0), 6)::float8 AS "totalCost",
        ROUND(AVG(COALESCE(i.total_cost_usd, 0)) FILTER (WHERE ${COMPLETED}), 6)::float8 AS "avgCostPerRun",
        ROUND((AVG(i.duration_ms) FILTER (WHERE ${COMPLETED}))::numeric, 6)::float8 AS "avgDurationMs",
        ROUND((percentile_cont(0.5) WITHIN GROUP (ORDER BY i.duration_ms) FILTER (WHERE ${COMPLETED}))::numeric, 6)::float8 AS "p50DurationMs",
        ROUND((percentile_cont(0.95) WITHIN GROUP (ORDER BY i.duration_ms) FILTER (WHERE ${COMPLETED}))::numeric, 6)::float8 AS "p95DurationMs",
        COALESCE(SUM(i.total_tokens), 0)::float8 AS "totalTokens",
        ROUND(COALESCE(SUM(i.total_tokens), 0)::numeric / NULLIF(count(i.id), 0), 6)::float8 AS "avgTokensPerRun",
        MAX(${RUN_TIME}) AS "lastRunAt"
      FROM agents a
      LEFT JOIN agent_instances i ON i.account_id = a.account_id AND i.agent_id = a.id ${window}
      WHERE a.account_id = ${accountId} ${only}
      GROUP BY a.id, a.name, a.inserted_at
      ORDER BY a.name, a.id`;
  },

  /** Runs per outcome label of each agent (the `limit` most frequent per agent). */
  outcomeCounts(db: Db, accountId: string, agentIds: string[], opts: { since?: Date; limit: number }) {
    const window = opts.since ? Prisma.sql`AND ${runSince(opts.since)}` : Prisma.empty;
    return db.$queryRaw<{ agentId: string; outcome: string; runs: number }[]>`
      SELECT "agentId", outcome, runs FROM (
        SELECT i.agent_id AS "agentId", i.outcome, count(*)::int AS runs,
          row_number() OVER (PARTITION BY i.agent_id ORDER BY count(*) DESC, i.outcome) AS rank
        FROM agent_instances i
        WHERE i.account_id = ${accountId} AND i.agent_id = ANY(${agentIds}::text[]) AND i.outcome IS NOT NULL ${window}
        GROUP BY i.agent_id, i.outcome
      ) ranked
      WHERE rank <= ${opts.limit}
      ORDER BY "agentId", runs DESC, outcome`;
  },

  /** One row per UTC calendar day from `fromDay` to `toDay` (YYYY-MM-DD, inclusive), zero-filled. */
  dailyStats(db: Db, accountId: string, agentId: string, fromDay: string, toDay: string) {
    // One pass over the agent's runs in the window, grouped by UTC day, then zero-filled against
    // the calendar (joining the calendar to runs day by day would rescan the runs per day).
    const from = new Date(`${fromDay}T00:00:00Z`);
    const to = new Date(new Date(`${toDay}T00:00:00Z`).getTime() + 86_400_000);
    return db.$queryRaw<DayStats[]>`
      WITH per_day AS (
        SELECT date_trunc('day', ${RUN_TIME} AT TIME ZONE 'UTC') AS day,
          count(*)::int AS total_runs,
          (count(*) FILTER (WHERE i.success IS TRUE))::int AS successful_runs,
          (count(*) FILTER (WHERE ${FAILED}))::int AS failed_runs,
          COALESCE(SUM(i.total_cost_usd), 0) AS total_cost,
          AVG(i.duration_ms) FILTER (WHERE ${COMPLETED}) AS avg_duration,
          percentile_cont(0.95) WITHIN GROUP (ORDER BY i.duration_ms) FILTER (WHERE ${COMPLETED}) AS p95_duration
        FROM agent_instances i
        WHERE i.account_id = ${accountId} AND i.agent_id = ${agentId} AND ${runSince(from)} AND ${RUN_TIME} < ${to}
        GROUP BY 1
      )
      SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
        COALESCE(p.total_runs, 0) AS "totalRuns",
        COALESCE(p.successful_runs, 0) AS "successfulRuns",
        COALESCE(p.failed_runs, 0) AS "failedRuns",
        ROUND(COALESCE(p.total_cost, 0), 6)::float8 AS "totalCost",
        ROUND(p.avg_duration::numeric, 6)::float8 AS "avgDurationMs",
        ROUND(p.p95_duration::numeric, 6)::float8 AS "p95DurationMs"
      FROM generate_series(${fromDay}::timestamp, ${toDay}::timestamp, interval '1 day') AS d(day)
      LEFT JOIN per_day p ON p.day = d.day
      ORDER BY d.day`;
  },
};
