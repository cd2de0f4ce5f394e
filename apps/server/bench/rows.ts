// Generated runs as the rows the server stores (agent_instances, spans), and the multi-row
// `INSERT ... SELECT FROM unnest(...)` used by both the ingest floor and the query-scale loader.
import { SPAN_TYPE_SCHEMAS, usd, iso, type GenSpan, type GenTrace } from "./generate.js";
import type { SqlConn } from "./sql.js";

type Column = readonly [name: string, type: string];

export const INSTANCE_COLUMNS: readonly Column[] = [
  ["account_id", "text"], ["id", "text"], ["agent_id", "text"], ["agent_version_id", "text"],
  ["agent_schema_version_id", "text"], ["environment_id", "text"], ["status", "text"], ["purpose", "text"],
  ["started_at", "timestamptz"], ["finished_at", "timestamptz"], ["duration_ms", "int8"],
  ["termination_reason", "text"], ["success", "bool"], ["outcome", "text"], ["error_message", "text"],
  ["total_tokens", "int8"], ["total_cost_usd", "numeric"], ["tokens_explicit", "bool"], ["cost_explicit", "bool"], ["metadata", "jsonb"],
  ["last_activity_at", "timestamptz"], ["inserted_at", "timestamptz"], ["updated_at", "timestamptz"],
];

export const SPAN_COLUMNS: readonly Column[] = [
  ["account_id", "text"], ["id", "text"], ["agent_instance_id", "text"], ["agent_id", "text"],
  ["parent_span_id", "text"], ["schema_name", "text"], ["name", "text"], ["status", "text"],
  ["payload", "jsonb"], ["result_payload", "jsonb"], ["summary", "text"], ["payload_validation", "jsonb"],
  ["started_at", "timestamptz"], ["finished_at", "timestamptz"], ["duration_ms", "int8"], ["model", "text"],
  ["input_tokens", "int4"], ["output_tokens", "int4"], ["total_tokens", "int4"], ["cost_usd", "numeric"],
  ["error_message", "text"], ["metadata", "jsonb"], ["inserted_at", "timestamptz"], ["updated_at", "timestamptz"],
];

export type Row = unknown[];

export const instanceStatus = (s: GenTrace["status"]) =>
  ({ completed: "complete", failed: "failed", running: "active", timed_out: "terminated" } as const)[s];
export const spanStatus = (s: GenSpan["status"]) => ({ completed: "complete", failed: "failed", running: "active" } as const)[s];

export interface RowContext {
  accountId: string;
  agentId: string;
  environmentId: string | null;
  /** The agent version / schema version a Prefactor-registered run carries (null for AgentVista). */
  agentVersionId?: string | null;
  schemaVersionId?: string | null;
  /** Fill summary and payload_validation as the Prefactor path would (the loader does). */
  withSummaries: boolean;
}

export function instanceRow(t: GenTrace, ctx: RowContext): Row {
  const lastActivity = t.endedAt ?? Math.max(...t.spans.map((s) => s.startedAt));
  const inserted = iso(t.startedAt);
  return [
    ctx.accountId, t.id, ctx.agentId, ctx.agentVersionId ?? null, ctx.schemaVersionId ?? null, ctx.environmentId,
    instanceStatus(t.status), ctx.schemaVersionId ? "live" : null,
    iso(t.startedAt), t.endedAt === null ? null : iso(t.endedAt), t.durationMs,
    t.status === "timed_out" ? "timed_out" : null, t.success, t.outcome, t.errorMessage,
    t.totalTokens, usd(t.totalCostMicros), t.totalsExplicit, t.totalsExplicit, JSON.stringify(t.metadata),
    iso(lastActivity), inserted, iso(t.endedAt ?? lastActivity),
  ];
}

/** What the span types' Liquid templates render (see SPAN_TYPE_SCHEMAS), for the loader's rows. */
export function summaryOf(s: GenSpan): string {
  const i = s.input as Record<string, any>;
  const o = (s.output ?? {}) as Record<string, any>;
  const cut = (v: unknown, n: number) => {
    const t = v == null ? "" : String(v);
    return t.length > n ? `${t.slice(0, n - 3)}...` : t;
  };
  switch (s.type) {
    case "agent":
      return `${cut(i.goal, 60)}${o.answer ? ` → ${cut(o.answer, 40)}` : ""}`;
    case "llm":
      return `${i.model ?? ""}: ${Array.isArray(i.messages) ? i.messages.length : 0} messages${o.usage ? `, ${o.usage.input_tokens}→${o.usage.output_tokens} tokens` : ""}`;
    case "tool":
      return `${i.tool ?? ""}(${cut(i.arguments?.query, 40)})${o.items ? ` = ${o.items} items` : ""}`;
    case "http":
      return `${i.method ?? ""} ${cut(i.url, 60)}${o.status_code ? ` → ${o.status_code}` : ""}`;
    case "db":
      return `${cut(i.statement, 50)}${o.rows ? ` (${o.rows} rows)` : ""}`;
    case "retrieval":
      return `search "${cut(i.query, 40)}" top ${i.top_k ?? ""}${o.documents ? `: ${o.documents.length} docs` : ""}`;
    case "custom":
      return `${i.step ?? ""}: ${cut(i.note, 50)}`;
  }
}

const VALID = JSON.stringify({ status: "valid", errors: [] });

/** payload_validation as the server writes it for a payload missing its first required field. */
function invalid(s: GenSpan): string {
  const required = (SPAN_TYPE_SCHEMAS.find((t) => t.name === s.type)!.params_schema.required as string[])[0];
  return JSON.stringify({ status: "invalid", errors: [{ path: "", message: `must have required property '${required}'`, target: "payload" }] });
}

export function spanRows(t: GenTrace, ctx: RowContext, now = Date.now()): Row[] {
  return t.spans.map((s) => [
    ctx.accountId, s.id, t.id, ctx.agentId, s.parentId, s.type, s.name, spanStatus(s.status),
    JSON.stringify(s.input), s.output === null ? null : JSON.stringify(s.output),
    ctx.withSummaries ? summaryOf(s) : null,
    ctx.withSummaries
      ? s.invalid
        ? invalid(s)
        : VALID
      : null,
    iso(s.startedAt), s.endedAt === null ? null : iso(s.endedAt), s.durationMs, s.model,
    s.inputTokens, s.outputTokens, s.totalTokens, s.costMicros === null ? null : usd(s.costMicros),
    s.errorMessage, null, iso(ctx.withSummaries ? s.startedAt : now), iso(ctx.withSummaries ? (s.endedAt ?? s.startedAt) : now),
  ]);
}

function insertSql(table: string, columns: readonly Column[]): string {
  const names = columns.map(([n]) => `"${n}"`).join(", ");
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${arrays})`;
}

const SQL_CACHE = new Map<string, string>();

/** One multi-row INSERT of `rows` (column arrays through unnest: one statement, one round trip). */
export async function insertRows(conn: SqlConn, table: string, columns: readonly Column[], rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const key = `${table}:${columns.length}`;
  let sql = SQL_CACHE.get(key);
  if (!sql) SQL_CACHE.set(key, (sql = insertSql(table, columns)));
  const arrays: unknown[][] = columns.map(() => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < columns.length; c++) arrays[c]![r] = row[c];
  }
  await conn.query(sql, arrays);
}
