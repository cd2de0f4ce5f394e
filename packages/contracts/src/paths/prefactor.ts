import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z } from "../zod.js";
import { ListQueryDocSchema } from "../common/pagination.js";
import {
  ActionBodySchema,
  AgentCreateSchema,
  AgentListSchema,
  AgentResponseSchema,
  AgentUpdateSchema,
} from "../prefactor/agents.js";
import { BulkRequestSchema, BulkResponseSchema } from "../prefactor/bulk.js";
import { EnvironmentListSchema, EnvironmentResponseSchema, EnvironmentWriteSchema } from "../prefactor/environments.js";
import {
  AgentInstanceListSchema,
  AgentInstanceResponseSchema,
  FinishInstanceSchema,
  InstanceListQuerySchema,
  RegisterInstanceSchema,
  StartInstanceSchema,
  TerminateInstanceSchema,
} from "../prefactor/instances.js";
import {
  AgentSchemaVersionCreateSchema,
  AgentSchemaVersionListSchema,
  AgentSchemaVersionResponseSchema,
} from "../prefactor/schema-versions.js";
import {
  AgentSpanCreateSchema,
  AgentSpanFinishSchema,
  AgentSpanListSchema,
  AgentSpanResponseSchema,
  SpanListQuerySchema,
} from "../prefactor/spans.js";
import { AgentVersionCreateSchema, AgentVersionListSchema, AgentVersionResponseSchema } from "../prefactor/versions.js";
import { ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenListSchema, ApiTokenResponseSchema } from "../prefactor/tokens.js";
import { DeletedResponseSchema, PfidGenerateResponseSchema, PfidGenerateSchema } from "../prefactor/utility.js";
import {
  ModelPriceDeletedResponseSchema,
  ModelPriceIdParamsSchema as ModelPriceIdParamsSchemaDoc,
  ModelPriceOverrideCreateSchema,
  ModelPriceOverrideResponseSchema,
  ModelPriceTableResponseSchema,
} from "../prefactor/model-prices.js";
import { json, prefactorPath } from "./helpers.js";

const idParams = z.object({ id: z.string().openapi({ description: "Looked up as given (PFID, or the UUID of an AgentVista run)" }) });
const agentFilter = z.object({ agent_id: z.string().optional() });

type Schema = z.ZodType;
type Ops = {
  list?: { operationId: string; query?: z.ZodObject; response: Schema; summary: string };
  get?: { operationId: string; response: Schema; summary: string };
  create?: { operationId: string; body: Schema; response: Schema; summary: string; status?: number };
  update?: { operationId: string; body: Schema; response: Schema; summary: string };
  remove?: { operationId: string; summary: string };
};

function resource(registry: OpenAPIRegistry, base: string, ops: Ops): void {
  const path = `/api/v1/${base}`;
  if (ops.list) {
    prefactorPath(registry, {
      method: "get",
      path,
      operationId: ops.list.operationId,
      summary: ops.list.summary,
      request: { query: ops.list.query ? ListQueryDocSchema.extend(ops.list.query.shape) : ListQueryDocSchema },
      responses: { 200: { description: "A page of items", ...json(ops.list.response) } },
    });
  }
  if (ops.create) {
    prefactorPath(registry, {
      method: "post",
      path,
      operationId: ops.create.operationId,
      summary: ops.create.summary,
      request: { body: json(ops.create.body) },
      responses: { [ops.create.status ?? 200]: { description: "Created", ...json(ops.create.response) } },
    });
  }
  if (ops.get) {
    prefactorPath(registry, {
      method: "get",
      path: `${path}/{id}`,
      operationId: ops.get.operationId,
      summary: ops.get.summary,
      request: { params: idParams },
      responses: { 200: { description: "The item", ...json(ops.get.response) } },
    });
  }
  if (ops.update) {
    prefactorPath(registry, {
      method: "put",
      path: `${path}/{id}`,
      operationId: ops.update.operationId,
      summary: ops.update.summary,
      request: { params: idParams, body: json(ops.update.body) },
      responses: { 200: { description: "Updated", ...json(ops.update.response) } },
    });
  }
  if (ops.remove) {
    prefactorPath(registry, {
      method: "delete",
      path: `${path}/{id}`,
      operationId: ops.remove.operationId,
      summary: ops.remove.summary,
      request: { params: idParams },
      responses: { 200: { description: "Deleted", ...json(DeletedResponseSchema) } },
    });
  }
}

function action(registry: OpenAPIRegistry, path: string, operationId: string, summary: string, body: Schema, response: Schema): void {
  prefactorPath(registry, {
    method: "post",
    path: `/api/v1/${path}`,
    operationId,
    summary,
    request: { params: idParams, body: json(body) },
    responses: { 200: { description: "Done", ...json(response) } },
  });
}

export function registerPrefactorPaths(registry: OpenAPIRegistry): void {
  registerModelPricePaths(registry);
  prefactorPath(registry, {
    method: "post",
    path: "/api/v1/pfid/generate",
    operationId: "generatePfids",
    summary: "Mints PFIDs in the caller's partition",
    request: { body: json(PfidGenerateSchema) },
    responses: { 200: { description: "The ids", ...json(PfidGenerateResponseSchema) } },
  });

  resource(registry, "environment", {
    list: { operationId: "listEnvironments", response: EnvironmentListSchema, summary: "List environments" },
    get: { operationId: "getEnvironment", response: EnvironmentResponseSchema, summary: "Get an environment" },
    create: { operationId: "createEnvironment", body: EnvironmentWriteSchema, response: EnvironmentResponseSchema, summary: "Create an environment" },
    update: { operationId: "updateEnvironment", body: EnvironmentWriteSchema, response: EnvironmentResponseSchema, summary: "Rename an environment" },
    remove: { operationId: "deleteEnvironment", summary: "Delete an environment (not the default one, nor one with runs)" },
  });

  resource(registry, "agent", {
    list: { operationId: "listAgents", response: AgentListSchema, summary: "List agents" },
    get: { operationId: "getAgent", response: AgentResponseSchema, summary: "Get an agent" },
    create: { operationId: "createAgent", body: AgentCreateSchema, response: AgentResponseSchema, summary: "Create an agent" },
    update: { operationId: "updateAgent", body: AgentUpdateSchema, response: AgentResponseSchema, summary: "Update an agent" },
    remove: { operationId: "deleteAgent", summary: "Delete an agent (only without instances)" },
  });
  action(registry, "agent/{id}/retire", "retireAgent", "Retire an agent", ActionBodySchema, AgentResponseSchema);
  action(registry, "agent/{id}/reinstate", "reinstateAgent", "Reinstate a retired agent", ActionBodySchema, AgentResponseSchema);

  resource(registry, "agent_version", {
    list: { operationId: "listAgentVersions", query: agentFilter, response: AgentVersionListSchema, summary: "List agent versions" },
    get: { operationId: "getAgentVersion", response: AgentVersionResponseSchema, summary: "Get an agent version" },
    create: { operationId: "createAgentVersion", body: AgentVersionCreateSchema, response: AgentVersionResponseSchema, summary: "Create an agent version" },
  });

  resource(registry, "agent_schema_version", {
    list: { operationId: "listAgentSchemaVersions", query: agentFilter, response: AgentSchemaVersionListSchema, summary: "List schema versions" },
    get: { operationId: "getAgentSchemaVersion", response: AgentSchemaVersionResponseSchema, summary: "Get a schema version" },
    create: {
      operationId: "createAgentSchemaVersion",
      body: AgentSchemaVersionCreateSchema,
      response: AgentSchemaVersionResponseSchema,
      summary: "Create a schema version (each JSON Schema is compiled; invalid ones are stored with status error)",
    },
  });

  prefactorPath(registry, {
    method: "post",
    path: "/api/v1/agent_instance/register",
    operationId: "registerAgentInstance",
    summary: "Find or create the version and schema version, then create a pending instance",
    request: { body: json(RegisterInstanceSchema) },
    responses: { 200: { description: "The new instance", ...json(AgentInstanceResponseSchema) } },
  });
  resource(registry, "agent_instance", {
    list: { operationId: "listAgentInstances", query: InstanceListQuerySchema, response: AgentInstanceListSchema, summary: "List agent instances" },
    get: { operationId: "getAgentInstance", response: AgentInstanceResponseSchema, summary: "Get an agent instance" },
  });
  action(registry, "agent_instance/{id}/start", "startAgentInstance", "pending → active", StartInstanceSchema, AgentInstanceResponseSchema);
  action(registry, "agent_instance/{id}/finish", "finishAgentInstance", "active → complete|failed, pending → cancelled", FinishInstanceSchema, AgentInstanceResponseSchema);
  action(registry, "agent_instance/{id}/terminate", "terminateAgentInstance", "active → terminated; closes open spans", TerminateInstanceSchema, AgentInstanceResponseSchema);

  resource(registry, "agent_spans", {
    list: {
      operationId: "listAgentSpans",
      query: SpanListQuerySchema,
      response: AgentSpanListSchema,
      summary: "List spans of an instance or an agent (one of agent_instance_id, agent_id is required)",
    },
    get: { operationId: "getAgentSpan", response: AgentSpanResponseSchema, summary: "Get a span" },
    create: { operationId: "createAgentSpan", body: AgentSpanCreateSchema, response: AgentSpanResponseSchema, summary: "Create a span" },
  });
  action(registry, "agent_spans/{id}/finish", "finishAgentSpan", "Finish a span", AgentSpanFinishSchema, AgentSpanResponseSchema);

  prefactorPath(registry, {
    method: "post",
    path: "/api/v1/bulk",
    operationId: "bulk",
    summary: "Run span and instance actions in order, each in its own transaction, stopping at the first error",
    request: { body: json(BulkRequestSchema) },
    responses: { 200: { description: "One output per item run, keyed by idempotency key", ...json(BulkResponseSchema) } },
  });

  resource(registry, "api_token", {
    list: { operationId: "listApiTokens", response: ApiTokenListSchema, summary: "List API tokens" },
    get: { operationId: "getApiToken", response: ApiTokenResponseSchema, summary: "Get an API token" },
    create: { operationId: "createApiToken", body: ApiTokenCreateSchema, response: ApiTokenCreatedSchema, summary: "Create a token (the secret is shown once)" },
    remove: { operationId: "deleteApiToken", summary: "Delete a revoked token" },
  });
  action(registry, "api_token/{id}/suspend", "suspendApiToken", "Suspend a token", ActionBodySchema, ApiTokenResponseSchema);
  action(registry, "api_token/{id}/activate", "activateApiToken", "Re-activate a suspended token", ActionBodySchema, ApiTokenResponseSchema);
  action(registry, "api_token/{id}/revoke", "revokeApiToken", "Revoke a token for good", ActionBodySchema, ApiTokenResponseSchema);
}

function registerModelPricePaths(registry: OpenAPIRegistry): void {
  prefactorPath(registry, {
    method: "get",
    path: "/api/v1/model_prices",
    operationId: "getModelPrices",
    summary: "The model price table shipped with the server and the account's overrides (read scope)",
    description: "Costs not reported by a client are computed at ingest from these prices (USD per million tokens) and marked as computed.",
    responses: { 200: { description: "The table", ...json(ModelPriceTableResponseSchema) } },
  });
  prefactorPath(registry, {
    method: "post",
    path: "/api/v1/model_prices",
    operationId: "createModelPriceOverride",
    summary: "Adds an account price for a model or pattern (admin scope); it wins over the shipped table for spans ingested from now on",
    request: { body: json(ModelPriceOverrideCreateSchema) },
    responses: { 201: { description: "Created", ...json(ModelPriceOverrideResponseSchema) } },
  });
  prefactorPath(registry, {
    method: "delete",
    path: "/api/v1/model_prices/{id}",
    operationId: "deleteModelPriceOverride",
    summary: "Removes an account price (admin scope)",
    request: { params: ModelPriceIdParamsSchemaDoc },
    responses: { 200: { description: "Deleted", ...json(ModelPriceDeletedResponseSchema) } },
  });
}
