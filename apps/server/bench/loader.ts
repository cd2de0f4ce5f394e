// The query-scale data set, loaded straight into the tables (not through the API: a million spans
// over HTTP would take longer than the benchmark itself). Runs are written in start-time order, as
// a live system receives them, over the last 120 days with growth and a daily rhythm; secondary
// indexes are dropped during the load and rebuilt afterwards, then the tables are vacuumed and
// analyzed, which is the steady state the queries meet in production.
import { performance } from "node:perf_hooks";
import { generatePfid } from "../src/domain/shared/pfid.js";
import { agentDefs, generateTrace, pickSpanCount, pickTraceStatus, type AgentDef, type GenTrace } from "./generate.js";
import { Rng } from "./rng.js";
import { INSTANCE_COLUMNS, insertRows, instanceRow, SPAN_COLUMNS, spanRows, type Row } from "./rows.js";
import type { SqlConn } from "./sql.js";

const DAY = 86_400_000;
export const HISTORY_DAYS = 120;

export interface LoadOptions {
  seed: string;
  anchor: number;
  spans: number;
  accountId: string;
  environmentId: string | null;
  pfidPartition: number;
  /** Per agent name: the version and schema version registered through the API, if any. */
  versions: Map<string, { versionId: string; schemaVersionId: string }>;
  log: (line: string) => void;
}

export interface BigTrace {
  id: string;
  /** Registered through the Prefactor dialect (PFID, schema version) rather than AgentVista. */
  prefactor: boolean;
}

export interface LoadedAgent {
  id: string;
  name: string;
  runs: number;
}

export interface LoadResult {
  runs: number;
  spans: number;
  agents: LoadedAgent[];
  /** Runs with exactly 200 spans (trace detail, span list). */
  bigTraces: BigTrace[];
  loadMs: number;
  indexMs: number;
  vacuumMs: number;
  /** Bytes of the two tables with their indexes and TOAST, after the load. */
  bytes: { spans: number; instances: number };
}

async function upsertAgents(conn: SqlConn, opts: LoadOptions, defs: AgentDef[]): Promise<Map<number, string>> {
  const rng = new Rng(`${opts.seed}/agent-ids`);
  const created = new Date(opts.anchor - (HISTORY_DAYS + 5) * DAY).toISOString();
  for (const def of defs) {
    const bytes = new Uint8Array(10).map(() => rng.nextU32() & 0xff);
    await conn.query(
      `INSERT INTO agents (id, account_id, name, retired, inserted_at, updated_at) VALUES ($1, $2, $3, false, $4, $4)
       ON CONFLICT (account_id, name) DO NOTHING`,
      [generatePfid(opts.pfidPartition, opts.anchor - (HISTORY_DAYS + 5) * DAY, bytes), opts.accountId, def.name, created],
    );
  }
  const rows = await conn.query<{ id: string; name: string }>("SELECT id, name FROM agents WHERE account_id = $1 AND name = ANY($2::text[])", [
    opts.accountId,
    defs.map((d) => d.name),
  ]);
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  return new Map(defs.map((d) => [d.index, byName.get(d.name)!]));
}

/** Start times over the history: more runs lately (growth) and in working hours. */
function startTimes(rng: Rng, count: number, anchor: number): Float64Array {
  const from = anchor - HISTORY_DAYS * DAY;
  const span = HISTORY_DAYS * DAY - 60_000;
  const times = new Float64Array(count);
  for (let i = 0; i < count; ) {
    const t = from + rng.next() * span;
    const age = (t - from) / span;
    const hour = new Date(t).getUTCHours() + new Date(t).getUTCMinutes() / 60;
    const weight = (0.4 + 0.6 * age) * (0.55 + 0.45 * Math.sin(((hour - 8) / 24) * 2 * Math.PI));
    if (rng.next() < weight) times[i++] = Math.round(t);
  }
  return times.sort();
}

interface SavedIndex {
  name: string;
  definition: string;
}

async function dropSecondaryIndexes(conn: SqlConn): Promise<SavedIndex[]> {
  // Every index of the two tables except those backing a constraint (the primary keys).
  const saved = await conn.query<SavedIndex>(`
    SELECT i.indexname AS name, i.indexdef AS definition
    FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename IN ('spans', 'agent_instances')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`);
  for (const index of saved) await conn.query(`DROP INDEX "${index.name}"`);
  return saved;
}

export async function loadQueryData(conn: SqlConn, opts: LoadOptions): Promise<LoadResult> {
  const rng = new Rng(`${opts.seed}/query-load`);
  const defs = agentDefs();
  const agentIds = await upsertAgents(conn, opts, defs);
  const weights = defs.map((d) => [d, d.weight] as const);

  // Span counts first (so the run count is known), then start times, then the runs in time order.
  const counts: number[] = [];
  for (let total = 0; total < opts.spans; ) {
    // Every 500th run is a full 200-span run, so trace detail always has its subjects.
    const n = counts.length % 500 === 250 ? 200 : pickSpanCount(rng);
    counts.push(n);
    total += n;
  }
  const times = startTimes(rng.fork("times"), counts.length, opts.anchor);

  if (conn.kind === "postgresql") {
    await conn.query("SET synchronous_commit = off");
    await conn.query("SET maintenance_work_mem = '256MB'");
  }
  const saved = await dropSecondaryIndexes(conn);
  const started = performance.now();
  const runsPerAgent = new Map<number, number>();
  const bigTraces: BigTrace[] = [];
  let spans = 0;
  let instanceBuf: Row[] = [];
  let spanBuf: Row[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  // One statement in flight while the next chunk is generated; the connection is the bottleneck.
  const flush = async (force: boolean) => {
    if (instanceBuf.length >= 500 || (force && instanceBuf.length)) {
      const rows = instanceBuf;
      instanceBuf = [];
      await inFlight;
      inFlight = insertRows(conn, "agent_instances", INSTANCE_COLUMNS, rows);
    }
    if (spanBuf.length >= 2000 || (force && spanBuf.length)) {
      const rows = spanBuf;
      spanBuf = [];
      await inFlight;
      inFlight = insertRows(conn, "spans", SPAN_COLUMNS, rows);
    }
  };
  let nextReport = 0.1;
  for (let i = 0; i < counts.length; i++) {
    const startedAt = times[i]!;
    const agent = rng.weighted(weights);
    const pfid = rng.chance(0.3);
    const trace: GenTrace = generateTrace(rng, {
      agent,
      startedAt,
      spanCount: counts[i]!,
      status: pickTraceStatus(rng, opts.anchor - startedAt < 15 * 60_000),
      idOf: pfid
        ? (r) => generatePfid(opts.pfidPartition, startedAt, new Uint8Array(10).map(() => r.nextU32() & 0xff))
        : undefined,
    });
    // Prefactor-style runs (PFIDs) carry the agent's registered version and schema version.
    const version = pfid ? opts.versions.get(agent.name) : undefined;
    const ctx = {
      accountId: opts.accountId,
      agentId: agentIds.get(agent.index)!,
      environmentId: opts.environmentId,
      agentVersionId: version?.versionId ?? null,
      schemaVersionId: version?.schemaVersionId ?? null,
      withSummaries: true,
    };
    instanceBuf.push(instanceRow(trace, ctx));
    for (const row of spanRows(trace, ctx)) spanBuf.push(row);
    spans += trace.spans.length;
    runsPerAgent.set(agent.index, (runsPerAgent.get(agent.index) ?? 0) + 1);
    if (trace.spans.length === 200 && bigTraces.length < 200) bigTraces.push({ id: trace.id, prefactor: pfid });
    await flush(false);
    if (spans >= nextReport * opts.spans) {
      opts.log(`  loaded ${spans.toLocaleString("en-US")} spans (${Math.round((spans / opts.spans) * 100)}%)`);
      nextReport += 0.1;
    }
  }
  await flush(true);
  await inFlight;
  const loadMs = performance.now() - started;

  const indexStarted = performance.now();
  for (const index of saved) await conn.query(index.definition);
  const indexMs = performance.now() - indexStarted;
  const vacuumStarted = performance.now();
  await conn.query("VACUUM (ANALYZE) agent_instances, spans");
  const vacuumMs = performance.now() - vacuumStarted;
  if (conn.kind === "postgresql") await conn.query("RESET synchronous_commit");

  const size = await conn.query<{ spans: string; instances: string }>(
    "SELECT pg_total_relation_size('spans')::text AS spans, pg_total_relation_size('agent_instances')::text AS instances",
  );
  return {
    runs: counts.length,
    spans,
    agents: defs.map((d) => ({ id: agentIds.get(d.index)!, name: d.name, runs: runsPerAgent.get(d.index) ?? 0 })),
    bigTraces,
    loadMs,
    indexMs,
    vacuumMs,
    bytes: { spans: Number(size[0]?.spans ?? 0), instances: Number(size[0]?.instances ?? 0) },
  };
}
