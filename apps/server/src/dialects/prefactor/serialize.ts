import type {
  Agent,
  AgentInstance,
  AgentSchemaVersion,
  AgentSpan,
  AgentVersion,
  Environment,
  SpanTypeSchemaDetails,
} from "@spyglass/contracts";
import type { Prisma as P } from "../../generated/prisma/client.js";
import type { InstanceCountRow, SpanCountRow } from "../../model/rows.js";
import { iso, validationOf } from "../shared.js";

type Row<M extends keyof P.TypeMap["model"]> = P.TypeMap["model"][M]["payload"]["scalars"];

export function toEnvironment(env: Row<"Environment">): Environment {
  return { type: "environment", id: env.id, account_id: env.accountId, name: env.name, inserted_at: iso(env.insertedAt), updated_at: iso(env.updatedAt) };
}

export function toAgent(agent: Row<"Agent">, counts: InstanceCountRow[]): Agent {
  const n = (status: string) => counts.find((c) => c.agent_id === agent.id && c.status === status)?.n ?? 0;
  const c = {
    pending: n("pending"),
    active: n("active"),
    complete: n("complete"),
    failed: n("failed"),
    cancelled: n("cancelled"),
    terminated: n("terminated"),
  };
  const finished = c.complete + c.failed + c.cancelled + c.terminated;
  const total = finished + c.pending + c.active;
  return {
    type: "agent",
    id: agent.id,
    account_id: agent.accountId,
    name: agent.name,
    description: agent.description,
    external_identifier: agent.externalIdentifier,
    status: agent.retired ? "retired" : total === 0 ? "pending" : c.pending + c.active > 0 ? "active" : "dormant",
    instance_counts: { total, ...c, finished },
    inserted_at: iso(agent.insertedAt),
    updated_at: iso(agent.updatedAt),
  };
}

export function toVersion(version: Row<"AgentVersion">, currentVersionId: string | null): AgentVersion {
  return {
    type: "agent_version",
    id: version.id,
    account_id: version.accountId,
    agent_id: version.agentId,
    agent_schema_version_id: version.agentSchemaVersionId,
    external_identifier: version.externalIdentifier,
    name: version.name,
    description: version.description,
    current_version: version.id === currentVersionId,
    inserted_at: iso(version.insertedAt),
    updated_at: iso(version.updatedAt),
  };
}

export function toSchemaVersion(version: Row<"AgentSchemaVersion">, currentSchemaVersionId: string | null): AgentSchemaVersion {
  return {
    type: "agent_schema_version",
    id: version.id,
    account_id: version.accountId,
    agent_id: version.agentId,
    external_identifier: version.externalIdentifier,
    current_version: version.id === currentSchemaVersionId,
    span_type_schemas: version.spanTypeSchemas as Record<string, SpanTypeSchemaDetails>,
    inserted_at: iso(version.insertedAt),
    updated_at: iso(version.updatedAt),
  };
}

/** Money goes out as an exact decimal string with 6 places. */
export function money(value: { toFixed(places: number): string } | null): string | null {
  return value === null ? null : value.toFixed(6);
}

export function toInstance(instance: Row<"AgentInstance">, counts: SpanCountRow[]): AgentInstance {
  const n = (status: string) => counts.find((c) => c.agent_instance_id === instance.id && c.status === status)?.n ?? 0;
  const c = { pending: n("pending"), active: n("active"), complete: n("complete"), failed: n("failed"), cancelled: n("cancelled") };
  const finished = c.complete + c.failed + c.cancelled;
  return {
    type: "agent_instance",
    id: instance.id,
    account_id: instance.accountId,
    agent_id: instance.agentId,
    agent_version_id: instance.agentVersionId,
    agent_schema_version_id: instance.agentSchemaVersionId,
    environment_id: instance.environmentId,
    agent_deployment_id: null,
    status: instance.status as AgentInstance["status"],
    purpose: instance.purpose,
    started_at: iso(instance.startedAt),
    finished_at: iso(instance.finishedAt),
    termination_reason: instance.terminationReason,
    span_counts: { total: finished + c.pending + c.active, ...c, finished },
    success: instance.success,
    outcome: instance.outcome,
    total_tokens: instance.totalTokens === null ? null : Number(instance.totalTokens),
    total_cost_usd: money(instance.totalCostUsd),
    inserted_at: iso(instance.insertedAt),
    updated_at: iso(instance.updatedAt),
  };
}


export function toSpan(span: Row<"Span">, title: string, withSummary: boolean): AgentSpan {
  const finished = span.status === "complete" || span.status === "failed" || span.status === "cancelled";
  const out: AgentSpan = {
    type: "agent_span",
    id: span.id,
    account_id: span.accountId,
    agent_id: span.agentId,
    agent_instance_id: span.agentInstanceId,
    parent_span_id: span.parentSpanId,
    schema_name: span.schemaName,
    schema_title: title,
    status: span.status as AgentSpan["status"],
    payload: (span.payload ?? {}) as Record<string, unknown>,
    started_at: iso(span.startedAt),
    finished_at: iso(span.finishedAt),
    payload_validation: validationOf(span.payloadValidation),
    inserted_at: iso(span.insertedAt),
    updated_at: iso(span.updatedAt),
  };
  if (finished) out.result_payload = (span.resultPayload ?? null) as Record<string, unknown> | null;
  // Usage only where there is some, so spans without it read exactly as Prefactor's.
  if (span.model !== null || span.totalTokens !== null || span.costUsd !== null) {
    Object.assign(out, {
      model: span.model,
      input_tokens: span.inputTokens,
      output_tokens: span.outputTokens,
      total_tokens: span.totalTokens,
      cost_usd: span.costUsd === null ? null : span.costUsd.toFixed(6),
      cost_computed: span.costComputed,
    });
  }
  if (withSummary) out.summary = span.summary;
  return out;
}
