// Rows as the repositories return them and the dialects present them: shared here so that no
// dialect imports a repository.

export interface TraceRow {
  id: string;
  agentId: string;
  agentName: string;
  status: string;
  terminationReason: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  success: boolean | null;
  outcome: string | null;
  errorMessage: string | null;
  totalTokens: number | null;
  /** Decimal text with 6 places. */
  totalCostUsd: string | null;
  metadata: Record<string, unknown> | null;
}

/** A span's model, tokens and cost, as its columns hold them. */
export interface SpanUsageColumns {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  /** Decimal text, rounded to 6 places by the column. */
  costUsd: string | null;
  /** costUsd was computed from the model price table, not reported. */
  costComputed: boolean;
}

export interface SpanRow extends SpanUsageColumns {
  id: string;
  traceId: string;
  parentSpanId: string | null;
  schemaName: string;
  name: string | null;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  payload: Record<string, unknown>;
  resultPayload: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  errorMessage: string | null;
  /** Rendered from the span type's template (Prefactor spans); bounded by MAX_SUMMARY_LENGTH. */
  summary: string | null;
  payloadValidation: unknown;
}

/** A span as a page of a trace shows it: large JSON fields already summarised by the database. */
export interface SpanPageRow extends SpanRow {
  truncated: boolean;
}

/** Where a page of spans starts: after this sort key (started_at, else inserted_at) and id. */
export interface SpanPosition {
  startedAt: Date;
  id: string;
}

export interface AgentRunStats {
  agentId: string;
  name: string;
  createdAt: Date;
  totalRuns: number;
  completedRuns: number;
  failedRuns: number;
  successfulRuns: number;
  unsuccessfulRuns: number;
  successRate: number | null;
  errorRate: number;
  totalCost: number;
  avgCostPerRun: number | null;
  avgDurationMs: number | null;
  p50DurationMs: number | null;
  p95DurationMs: number | null;
  totalTokens: number;
  avgTokensPerRun: number | null;
  lastRunAt: Date | null;
}

export interface InstanceCountRow {
  agent_id: string;
  status: string;
  n: number;
}

export interface SpanCountRow {
  agent_instance_id: string;
  status: string;
  n: number;
}
