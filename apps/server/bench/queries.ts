// The read paths measured at scale: each has the HTTP request and its raw-SQL floor, the plain
// statements a hand-written implementation would issue on one connection for the same answer
// (same filters, same rows and columns, same aggregates). The floor is what PostgreSQL itself
// needs; the ratio shows what the server adds (HTTP, auth, ORM, serialization, extra queries).
import { HISTORY_DAYS, type LoadResult } from "./loader.js";
import { Rng } from "./rng.js";
import type { SqlConn } from "./sql.js";

const DAY = 86_400_000;

export interface QueryCase {
  path: string;
  floor: (conn: SqlConn) => Promise<unknown>;
}

export interface QueryKind {
  key: string;
  label: string;
  /** Absolute p95 limit (ms) at 1M spans; null for the baseline (no target). */
  limitMs: number | null;
  cases: QueryCase[];
}

const SPAN_FIELDS = `id, parent_span_id, schema_name, name, status, started_at, finished_at, duration_ms, model,
  input_tokens, output_tokens, total_tokens, cost_usd, payload, result_payload, error_message, metadata`;

const HEADER_FIELDS = `i.id, i.agent_id, a.name AS agent_name, i.status, i.termination_reason, i.started_at,
  i.finished_at, i.duration_ms, i.success, i.outcome, i.error_message, i.total_tokens, i.total_cost_usd, i.metadata`;

function compareSql(windowed: boolean): [string, string] {
  const since = windowed ? "AND started_at >= $3" : "";
  return [
    `SELECT agent_id,
       count(*) AS total_runs,
       count(*) FILTER (WHERE status = 'complete') AS completed_runs,
       count(*) FILTER (WHERE status IN ('failed', 'terminated', 'cancelled')) AS failed_runs,
       count(*) FILTER (WHERE success) AS successful_runs,
       count(*) FILTER (WHERE success = false) AS unsuccessful_runs,
       coalesce(sum(total_cost_usd), 0) AS total_cost,
       avg(total_cost_usd) FILTER (WHERE status = 'complete') AS avg_cost_per_run,
       avg(duration_ms) AS avg_duration_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status = 'complete') AS p50_duration_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status = 'complete') AS p95_duration_ms,
       coalesce(sum(total_tokens), 0) AS total_tokens,
       avg(total_tokens) AS avg_tokens_per_run
     FROM agent_instances
     WHERE account_id = $1 AND agent_id = ANY($2::text[]) ${since}
     GROUP BY agent_id`,
    `SELECT agent_id, outcome, count(*) AS n FROM agent_instances
     WHERE account_id = $1 AND agent_id = ANY($2::text[]) AND outcome IS NOT NULL ${since}
     GROUP BY agent_id, outcome`,
  ];
}

export function buildQueries(data: LoadResult, accountId: string, anchor: number, perKind: number, seed: string): QueryKind[] {
  const rng = new Rng(`${seed}/queries`);
  const agents = data.agents.filter((a) => a.runs > 0);
  const weighted = agents.map((a) => [a, a.runs] as const);
  const big = data.bigTraces.map((t) => t.id);
  // The span list is a Prefactor read: prefer runs registered through that dialect.
  const registered = data.bigTraces.filter((t) => t.prefactor).map((t) => t.id);
  const spanListRuns = registered.length ? registered : big;
  const n = perKind;
  const kinds: QueryKind[] = [];

  // The fixed cost of any request (HTTP, auth: token lookup), to read the others' ratios against.
  kinds.push({
    key: "ping",
    label: "baseline: GET /ping (auth only)",
    limitMs: null,
    cases: Array.from({ length: n }, () => ({
      path: "/api/v1/ping",
      floor: (conn) => conn.query("SELECT 1"),
    })),
  });

  kinds.push({
    key: "trace-detail",
    label: "trace detail (200-span trace)",
    limitMs: 50,
    cases: Array.from({ length: n }, (_, i) => {
      const id = big[i % big.length]!;
      return {
        path: `/api/v1/dashboard/traces/${encodeURIComponent(id)}`,
        floor: async (conn) => {
          await conn.query(
            `SELECT ${HEADER_FIELDS} FROM agent_instances i JOIN agents a ON a.id = i.agent_id AND a.account_id = i.account_id
             WHERE i.account_id = $1 AND i.id = $2`,
            [accountId, id],
          );
          await conn.query(`SELECT ${SPAN_FIELDS} FROM spans WHERE account_id = $1 AND agent_instance_id = $2 ORDER BY started_at, id`, [accountId, id]);
        },
      };
    }),
  });

  kinds.push({
    key: "trace-list",
    label: "trace list (agent + status + window)",
    limitMs: 50,
    cases: Array.from({ length: n }, () => {
      const agent = rng.weighted(weighted);
      const days = rng.pick([1, 7, 7, 30]);
      const end = anchor - rng.int(0, HISTORY_DAYS - days) * DAY;
      const start = end - days * DAY;
      const [s, e] = [new Date(start).toISOString(), new Date(end).toISOString()];
      return {
        path: `/api/v1/dashboard/traces/?agent_id=${encodeURIComponent(agent.id)}&status=completed&start=${encodeURIComponent(s)}&end=${encodeURIComponent(e)}&page_size=20`,
        floor: async (conn) => {
          await conn.query(
            `SELECT ${HEADER_FIELDS} FROM agent_instances i JOIN agents a ON a.id = i.agent_id AND a.account_id = i.account_id
             WHERE i.account_id = $1 AND i.agent_id = $2 AND i.status = 'complete' AND i.started_at >= $3 AND i.started_at <= $4
             ORDER BY i.started_at DESC LIMIT 20`,
            [accountId, agent.id, s, e],
          );
          await conn.query(
            `SELECT count(*) FROM agent_instances
             WHERE account_id = $1 AND agent_id = $2 AND status = 'complete' AND started_at >= $3 AND started_at <= $4`,
            [accountId, agent.id, s, e],
          );
        },
      };
    }),
  });

  const pairs = Array.from({ length: n }, () => {
    const a = rng.weighted(weighted);
    let b = rng.weighted(weighted);
    while (b.id === a.id && agents.length > 1) b = rng.pick(agents);
    return [a, b] as const;
  });
  for (const days of [undefined, 30] as const) {
    const [main, outcomes] = compareSql(days !== undefined);
    kinds.push({
      key: days ? `compare-${days}d` : "compare-all",
      label: days ? `compare-agents (days=${days})` : "compare-agents (all time)",
      limitMs: 250,
      cases: pairs.map(([a, b]) => ({
        path: `/api/v1/dashboard/traces/compare-agents?agent_a=${encodeURIComponent(a.id)}&agent_b=${encodeURIComponent(b.id)}${days ? `&days=${days}` : ""}`,
        floor: async (conn) => {
          const params: unknown[] = [accountId, [a.id, b.id]];
          if (days) params.push(new Date(anchor - days * DAY).toISOString());
          await conn.query("SELECT id, name FROM agents WHERE account_id = $1 AND id = ANY($2::text[])", [accountId, [a.id, b.id]]);
          await conn.query(main, params);
          await conn.query(outcomes, params);
        },
      })),
    });
  }

  kinds.push({
    key: "stats-90d",
    label: "agent stats (days=90)",
    limitMs: 250,
    cases: Array.from({ length: n }, () => {
      const agent = rng.weighted(weighted);
      const today = Math.floor(anchor / DAY) * DAY;
      const since = new Date(today - 89 * DAY).toISOString();
      return {
        path: `/api/v1/agents/${encodeURIComponent(agent.id)}/stats?days=90`,
        floor: async (conn) => {
          await conn.query("SELECT id, name FROM agents WHERE account_id = $1 AND id = $2", [accountId, agent.id]);
          await conn.query(
            `SELECT (started_at AT TIME ZONE 'UTC')::date AS day,
               count(*) AS total_runs,
               count(*) FILTER (WHERE success) AS successful_runs,
               count(*) FILTER (WHERE status IN ('failed', 'terminated', 'cancelled')) AS failed_runs,
               coalesce(sum(total_cost_usd), 0) AS total_cost,
               avg(duration_ms) AS avg_duration_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms
             FROM agent_instances
             WHERE account_id = $1 AND agent_id = $2 AND started_at >= $3
             GROUP BY 1 ORDER BY 1`,
            [accountId, agent.id, since],
          );
        },
      };
    }),
  });

  kinds.push({
    key: "span-list",
    label: "Prefactor span list + summaries (100)",
    limitMs: 50,
    cases: Array.from({ length: n }, (_, i) => {
      const id = spanListRuns[(i * 7) % spanListRuns.length]!;
      return {
        path: `/api/v1/agent_spans?agent_instance_id=${encodeURIComponent(id)}&include_summaries=true&pagination%5Bpage_size%5D=100`,
        floor: async (conn) => {
          await conn.query(
            `SELECT ${SPAN_FIELDS}, agent_id, agent_instance_id, summary, payload_validation, inserted_at, updated_at
             FROM spans WHERE account_id = $1 AND agent_instance_id = $2 ORDER BY started_at, id LIMIT 100`,
            [accountId, id],
          );
          await conn.query("SELECT count(*) FROM spans WHERE account_id = $1 AND agent_instance_id = $2", [accountId, id]);
        },
      };
    }),
  });

  return kinds;
}
