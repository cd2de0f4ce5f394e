import {
  AV_SPAN_TYPES,
  type AvAgentComparison,
  type AvAgentSummary,
  type AvApiKey,
  type AvSpan,
  type AvSpanType,
  type AvTrace,
  type AvTraceDetailSpan,
} from "@spyglass/contracts";
import type { AgentComparison } from "../../domain/traces/analytics.js";
import { isUsable } from "../../domain/tokens/service.js";
import { spanTraceStatusOf, traceStatusOf } from "../../model/status.js";
import type { AgentRunStats, SpanPageRow, SpanRow, TraceRow } from "../../model/rows.js";
import { iso, validationOf } from "../shared.js";

// Rows of the one domain model, as the AgentVista wire format shows them.

/** JSON columns the other dialect may have filled with a non-object show as {"value": x}. */
function asObject(value: unknown): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  return typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

export function presentTrace(row: TraceRow): AvTrace {
  return {
    trace_id: row.id,
    agent_id: row.agentId,
    agent_name: row.agentName,
    status: traceStatusOf(row.status),
    started_at: iso(row.startedAt),
    ended_at: iso(row.finishedAt),
    duration_ms: row.durationMs,
    success: row.success,
    outcome: row.outcome,
    error_message: row.errorMessage,
    total_tokens: row.totalTokens,
    total_cost_usd: row.totalCostUsd,
    metadata: asObject(row.metadata),
  };
}

export function presentSpan(row: SpanRow): AvSpan {
  const type = (AV_SPAN_TYPES as readonly string[]).includes(row.schemaName) ? (row.schemaName as AvSpanType) : "custom";
  return {
    span_id: row.id,
    trace_id: row.traceId,
    parent_span_id: row.parentSpanId,
    type,
    name: row.name ?? row.schemaName,
    status: spanTraceStatusOf(row.status),
    started_at: iso(row.startedAt),
    ended_at: iso(row.finishedAt),
    duration_ms: row.durationMs,
    model: row.model,
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    total_tokens: row.totalTokens,
    cost_usd: row.costUsd,
    cost_computed: row.costComputed,
    input: asObject(row.payload),
    output: asObject(row.resultPayload),
    metadata: asObject(row.metadata),
    error_message: row.errorMessage,
    summary: row.summary,
    payload_validation: validationOf(row.payloadValidation),
  };
}

/** A span of a trace detail page: its large fields were summarised by the read. */
export function presentPageSpan(row: SpanPageRow): AvTraceDetailSpan {
  return { ...presentSpan(row), truncated: row.truncated };
}

export function presentAgentSummary(s: AgentRunStats): AvAgentSummary {
  return {
    id: s.agentId,
    name: s.name,
    total_runs: s.totalRuns,
    success_rate: s.successRate,
    total_cost: s.totalCost,
    avg_cost_per_run: s.avgCostPerRun,
    last_run_at: iso(s.lastRunAt),
    created_at: iso(s.createdAt),
  };
}

export function presentComparison(s: AgentComparison): AvAgentComparison {
  return {
    agent_id: s.agentId,
    name: s.name,
    total_runs: s.totalRuns,
    completed_runs: s.completedRuns,
    failed_runs: s.failedRuns,
    successful_runs: s.successfulRuns,
    unsuccessful_runs: s.unsuccessfulRuns,
    success_rate: s.successRate,
    error_rate: s.errorRate,
    total_cost: s.totalCost,
    avg_cost_per_run: s.avgCostPerRun,
    avg_duration_ms: s.avgDurationMs,
    p50_duration_ms: s.p50DurationMs,
    p95_duration_ms: s.p95DurationMs,
    total_tokens: s.totalTokens,
    avg_tokens_per_run: s.avgTokensPerRun,
    outcomes: s.outcomes,
  };
}

export function presentApiKey(token: {
  id: string;
  name: string | null;
  scopes: string[];
  prefix: string;
  status: string;
  expiresAt: Date | null;
  insertedAt: Date;
  lastUsedAt: Date | null;
}): AvApiKey {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    prefix: token.prefix,
    is_active: isUsable(token),
    created_at: iso(token.insertedAt),
    last_used_at: iso(token.lastUsedAt),
  };
}
