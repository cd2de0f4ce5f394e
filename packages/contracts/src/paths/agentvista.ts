import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import {
  AvAgentDetailSchema,
  AvAgentIdParamsSchema,
  AvAgentListResponseSchema,
  AvAgentRunsQuerySchema,
  AvAgentStatsQuerySchema,
  AvAgentStatsSchema,
} from "../agentvista/agents.js";
import {
  AvApiKeyCreatedSchema,
  AvApiKeyCreateSchema,
  AvApiKeyIdParamsSchema,
  AvApiKeyListQuerySchema,
  AvApiKeyListResponseSchema,
  AvApiKeyPingSchema,
  AvApiKeyRevokedSchema,
} from "../agentvista/api-keys.js";
import {
  AvCompareAgentsQuerySchema,
  AvCompareAgentsResponseSchema,
  AvOutcomeResponseSchema,
  AvOutcomeUpdateSchema,
  AvTraceBatchRequestSchema,
  AvTraceBatchResponseSchema,
  AvSpanIdParamsSchema,
  AvSpanSchema,
  AvTraceDetailQuerySchema,
  AvTraceDetailSchema,
  AvTraceIdParamsSchema,
  AvTraceListQuerySchema,
  AvTraceListResponseSchema,
} from "../agentvista/traces.js";
import { agentvistaPath, json } from "./helpers.js";

const slashes = "Trailing slashes are optional.";

/** Every route of the AgentVista dialect (api-agentvista.md). */
export function registerAgentvistaPaths(registry: OpenAPIRegistry): void {
  agentvistaPath(registry, {
    method: "post",
    path: "/api/v1/traces/batch",
    operationId: "ingestTraceBatch",
    summary: "Ingests traces and their spans (write scope)",
    description:
      "Each trace is validated and stored atomically with its spans; one bad trace does not reject the others. " +
      "Duplicates are accepted: header fields move forward, a terminal status is never replaced by running, a terminal span is left unchanged. " +
      "More than 100 spans in total gives 400 and nothing is written; a batch over the monthly event limit gives 429 and nothing is written. " +
      slashes,
    request: { body: { required: true, ...json(AvTraceBatchRequestSchema) } },
    responses: { 200: { description: "Per-trace outcome", ...json(AvTraceBatchResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/dashboard/traces/",
    operationId: "listTraces",
    summary: "Lists trace headers, newest first (read scope)",
    description: slashes,
    request: { query: AvTraceListQuerySchema },
    responses: { 200: { description: "A page of traces", ...json(AvTraceListResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/dashboard/traces/compare-agents",
    operationId: "compareAgents",
    summary: "Side-by-side statistics of two agents (read scope)",
    description: slashes,
    request: { query: AvCompareAgentsQuerySchema },
    responses: { 200: { description: "Exactly two entries, in request order", ...json(AvCompareAgentsResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/dashboard/traces/{trace_id}",
    operationId: "getTrace",
    summary: "A trace with a page of its spans in waterfall order (read scope)",
    description:
      "Spans come in pages (span_limit, span_cursor → next_span_cursor), bounded in count and in bytes; a span's input, output or metadata " +
      "over 8 KB of JSON is replaced by an AvTruncatedJson (getTraceSpan has it whole). " +
      slashes,
    request: { params: AvTraceIdParamsSchema, query: AvTraceDetailQuerySchema },
    responses: { 200: { description: "The trace and one page of its spans", ...json(AvTraceDetailSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/dashboard/traces/{trace_id}/spans/{span_id}",
    operationId: "getTraceSpan",
    summary: "One span of a trace, whole (read scope)",
    description: slashes,
    request: { params: AvSpanIdParamsSchema },
    responses: { 200: { description: "The span", ...json(AvSpanSchema) } },
  });
  agentvistaPath(registry, {
    method: "patch",
    path: "/api/v1/dashboard/traces/{trace_id}/outcome",
    operationId: "setTraceOutcome",
    summary: "Sets success and outcome of a trace (write scope)",
    description: slashes,
    request: { params: AvTraceIdParamsSchema, body: { required: true, ...json(AvOutcomeUpdateSchema) } },
    responses: { 200: { description: "The updated outcome", ...json(AvOutcomeResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/agents",
    operationId: "listAvAgents",
    summary: "Every agent with its all-time figures (read scope)",
    description: slashes,
    responses: { 200: { description: "The agents, by name", ...json(AvAgentListResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/agents/{id}",
    operationId: "getAvAgent",
    summary: "One agent with its all-time figures (read scope)",
    description: slashes,
    request: { params: AvAgentIdParamsSchema },
    responses: { 200: { description: "The agent", ...json(AvAgentDetailSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/agents/{id}/stats",
    operationId: "getAvAgentStats",
    summary: "Per-day figures of an agent over the last 7, 30 or 90 days (read scope)",
    description: slashes,
    request: { params: AvAgentIdParamsSchema, query: AvAgentStatsQuerySchema },
    responses: { 200: { description: "One entry per UTC day", ...json(AvAgentStatsSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/agents/{id}/runs",
    operationId: "listAvAgentRuns",
    summary: "An agent's traces, newest first (read scope)",
    description: slashes,
    request: { params: AvAgentIdParamsSchema, query: AvAgentRunsQuerySchema },
    responses: { 200: { description: "A page of traces", ...json(AvTraceListResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "post",
    path: "/api/v1/me/api-keys/",
    operationId: "createAvApiKey",
    summary: "Creates an av_ key; the secret is returned once (admin scope)",
    description: slashes,
    request: { body: { required: true, ...json(AvApiKeyCreateSchema) } },
    responses: { 201: { description: "The new key with its secret", ...json(AvApiKeyCreatedSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/me/api-keys/",
    operationId: "listAvApiKeys",
    summary: "The account's keys and tokens, newest first, without secrets (admin scope)",
    description: slashes,
    request: { query: AvApiKeyListQuerySchema },
    responses: { 200: { description: "A page of keys", ...json(AvApiKeyListResponseSchema) } },
  });
  agentvistaPath(registry, {
    method: "get",
    path: "/api/v1/me/api-keys/ping/",
    operationId: "pingAvApiKey",
    summary: "Checks the key and shows its scopes (any valid key)",
    description: slashes,
    responses: { 200: { description: "The key is valid", ...json(AvApiKeyPingSchema) } },
  });
  agentvistaPath(registry, {
    method: "delete",
    path: "/api/v1/me/api-keys/{id}/",
    operationId: "revokeAvApiKey",
    summary: "Revokes a key; it stops working at once (admin scope)",
    description: slashes,
    request: { params: AvApiKeyIdParamsSchema },
    responses: { 200: { description: "The key is revoked", ...json(AvApiKeyRevokedSchema) } },
  });
}
