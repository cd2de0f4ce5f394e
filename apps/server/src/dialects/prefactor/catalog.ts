import type { Router } from "express";
import {
  ActionBodySchema,
  AgentCreateSchema,
  AgentListSchema,
  AgentResponseSchema,
  AgentSchemaVersionCreateSchema,
  AgentSchemaVersionListSchema,
  AgentSchemaVersionResponseSchema,
  AgentUpdateSchema,
  AgentVersionCreateSchema,
  AgentVersionListSchema,
  AgentVersionResponseSchema,
  DeletedResponseSchema,
  EnvironmentListSchema,
  EnvironmentResponseSchema,
  EnvironmentWriteSchema,
  IdParamSchema,
  z,
} from "@spyglass/contracts";
import type { AuthContext } from "../../domain/accounts/service.js";
import { requireScope } from "../../domain/accounts/service.js";
import type { Transaction } from "../../domain/shared/transaction.js";
import type { Services } from "../../services.js";
import { authOf } from "../../http/context.js";
import { paginationOf, parseList } from "../../http/list.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import { toAgent, toEnvironment, toSchemaVersion, toVersion } from "./serialize.js";
import { ok, sendWrite } from "./write.js";

const SORTABLE = ["inserted_at", "updated_at", "name"] as const;
const COLUMN = { inserted_at: "insertedAt", updated_at: "updatedAt", name: "name", external_identifier: "externalIdentifier" } as const;
const AgentFilter = z.object({ agent_id: z.string().max(128).optional() });

export function registerCatalogRoutes(router: Router, services: Services): void {
  const { catalog } = services;
  const idOf = (params: Record<string, string | string[]>) => parseInput(IdParamSchema, params.id, "id");
  const reader = (req: Parameters<typeof authOf>[0]) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    return auth;
  };
  const agentBody = async (auth: AuthContext, id: string, db?: Transaction) => {
    const agent = await catalog.getAgent(auth, id, db);
    return { status: "success" as const, details: toAgent(agent, await catalog.instanceCounts(auth, [agent.id], db)) };
  };

  // Environments
  router.get("/environment", async (req, res) => {
    const auth = reader(req);
    const { page, sort, sorting } = parseList(req, SORTABLE, { field: "inserted_at", direction: "asc" });
    const { items, count } = await catalog.listEnvironments(auth, page, { [COLUMN[sort.field]]: sort.direction });
    respond(res, 200, EnvironmentListSchema, { status: "success", summaries: items.map(toEnvironment), pagination: paginationOf(page, count, items.length), sorting });
  });
  router.get("/environment/:id", async (req, res) => {
    const env = await catalog.getEnvironment(reader(req), idOf(req.params));
    respond(res, 200, EnvironmentResponseSchema, { status: "success", details: toEnvironment(env) });
  });
  router.post("/environment", async (req, res) => {
    const body = parseInput(EnvironmentWriteSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) =>
      ok(EnvironmentResponseSchema, { status: "success", details: toEnvironment(await catalog.createEnvironment(auth, body.details.name, tx)) }),
    );
  });
  router.put("/environment/:id", async (req, res) => {
    const body = parseInput(EnvironmentWriteSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) =>
      ok(EnvironmentResponseSchema, { status: "success", details: toEnvironment(await catalog.renameEnvironment(auth, idOf(req.params), body.details.name, tx)) }),
    );
  });
  router.delete("/environment/:id", async (req, res) => {
    const body = parseInput(ActionBodySchema, req.body ?? {});
    const id = idOf(req.params);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) => {
      await catalog.deleteEnvironment(auth, id, tx);
      return ok(DeletedResponseSchema, { status: "success", details: { id, deleted: true } });
    });
  });

  // Agents
  router.get("/agent", async (req, res) => {
    const auth = reader(req);
    const { page, sort, sorting } = parseList(req, SORTABLE, { field: "inserted_at", direction: "asc" });
    const { items, count } = await catalog.listAgents(auth, page, { [COLUMN[sort.field]]: sort.direction });
    const counts = await catalog.instanceCounts(auth, items.map((a) => a.id));
    respond(res, 200, AgentListSchema, {
      status: "success",
      summaries: items.map((a) => toAgent(a, counts)),
      pagination: paginationOf(page, count, items.length),
      sorting,
    });
  });
  router.get("/agent/:id", async (req, res) => {
    const auth = reader(req);
    respond(res, 200, AgentResponseSchema, await agentBody(auth, idOf(req.params)));
  });
  router.post("/agent", async (req, res) => {
    const body = parseInput(AgentCreateSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) => {
      const agent = await catalog.createAgent(auth, body.details, tx);
      return ok(AgentResponseSchema, await agentBody(auth, agent.id, tx));
    });
  });
  router.put("/agent/:id", async (req, res) => {
    const body = parseInput(AgentUpdateSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) => {
      const agent = await catalog.updateAgent(auth, idOf(req.params), body.details, tx);
      return ok(AgentResponseSchema, await agentBody(auth, agent.id, tx));
    });
  });
  for (const [action, retired] of [["retire", true], ["reinstate", false]] as const) {
    router.post(`/agent/:id/${action}`, async (req, res) => {
      const body = parseInput(ActionBodySchema, req.body ?? {});
      await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) => {
        const agent = await catalog.setRetired(auth, idOf(req.params), retired, tx);
        return ok(AgentResponseSchema, await agentBody(auth, agent.id, tx));
      });
    });
  }
  router.delete("/agent/:id", async (req, res) => {
    const body = parseInput(ActionBodySchema, req.body ?? {});
    const id = idOf(req.params);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx) => {
      await catalog.deleteAgent(auth, id, tx);
      return ok(DeletedResponseSchema, { status: "success", details: { id, deleted: true } });
    });
  });

  // Agent versions
  router.get("/agent_version", async (req, res) => {
    const auth = reader(req);
    const { page, sort, sorting, filters } = parseList(req, ["inserted_at", "updated_at", "external_identifier"], { field: "inserted_at", direction: "asc" }, AgentFilter);
    const { items, count } = await catalog.listVersions(auth, filters.agent_id, page, { [COLUMN[sort.field]]: sort.direction });
    const current = await currentIds(auth, items.map((v) => v.agentId));
    respond(res, 200, AgentVersionListSchema, {
      status: "success",
      summaries: items.map((v) => toVersion(v, current.get(v.agentId)?.version ?? null)),
      pagination: paginationOf(page, count, items.length),
      sorting,
    });
  });
  router.get("/agent_version/:id", async (req, res) => {
    const auth = reader(req);
    const version = await catalog.getVersion(auth, idOf(req.params));
    const agent = await catalog.getAgent(auth, version.agentId);
    respond(res, 200, AgentVersionResponseSchema, { status: "success", details: toVersion(version, agent.currentVersionId) });
  });
  router.post("/agent_version", async (req, res) => {
    const body = parseInput(AgentVersionCreateSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "write", async (auth, tx) => {
      const agent = await catalog.getAgent(auth, body.details.agent_id, tx);
      const version = await catalog.findOrCreateVersion(
        auth,
        {
          agentId: agent.id,
          schemaVersionId: body.details.agent_schema_version_id,
          externalIdentifier: body.details.external_identifier,
          name: body.details.name,
          description: body.details.description,
        },
        tx,
      );
      return ok(AgentVersionResponseSchema, { status: "success", details: toVersion(version, agent.currentVersionId) });
    });
  });

  // Agent schema versions
  router.get("/agent_schema_version", async (req, res) => {
    const auth = reader(req);
    const { page, sort, sorting, filters } = parseList(req, ["inserted_at", "updated_at", "external_identifier"], { field: "inserted_at", direction: "asc" }, AgentFilter);
    const { items, count } = await catalog.listSchemaVersions(auth, filters.agent_id, page, { [COLUMN[sort.field]]: sort.direction });
    const current = await currentIds(auth, items.map((v) => v.agentId));
    respond(res, 200, AgentSchemaVersionListSchema, {
      status: "success",
      summaries: items.map((v) => toSchemaVersion(v, current.get(v.agentId)?.schemaVersion ?? null)),
      pagination: paginationOf(page, count, items.length),
      sorting,
    });
  });
  router.get("/agent_schema_version/:id", async (req, res) => {
    const auth = reader(req);
    const version = await catalog.getSchemaVersion(auth, idOf(req.params));
    const agent = await catalog.getAgent(auth, version.agentId);
    respond(res, 200, AgentSchemaVersionResponseSchema, { status: "success", details: toSchemaVersion(version, agent.currentSchemaVersionId) });
  });
  router.post("/agent_schema_version", async (req, res) => {
    const body = parseInput(AgentSchemaVersionCreateSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "write", async (auth, tx) => {
      const { agent_id, ...content } = body.details;
      const agent = await catalog.getAgent(auth, agent_id, tx);
      const version = await catalog.findOrCreateSchemaVersion(auth, agent.id, content, tx);
      return ok(AgentSchemaVersionResponseSchema, { status: "success", details: toSchemaVersion(version, agent.currentSchemaVersionId) });
    });
  });

  async function currentIds(auth: AuthContext, agentIds: string[]) {
    const agents = await Promise.all([...new Set(agentIds)].map((id) => catalog.getAgent(auth, id)));
    return new Map(agents.map((a) => [a.id, { version: a.currentVersionId, schemaVersion: a.currentSchemaVersionId }]));
  }
}
