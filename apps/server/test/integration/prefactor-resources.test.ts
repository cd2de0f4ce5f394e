import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentListSchema,
  AgentResponseSchema,
  AgentSchemaVersionListSchema,
  AgentSchemaVersionResponseSchema,
  AgentVersionListSchema,
  AgentVersionResponseSchema,
  DeletedResponseSchema,
  EnvironmentListSchema,
  EnvironmentResponseSchema,
  ErrorEnvelopeSchema,
  PFID_PATTERN,
  PfidGenerateResponseSchema,
} from "@spyglass/contracts";
import { decodePfid } from "../../src/domain/shared/pfid.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, registerInstance, seedSchemaVersion } from "../helpers/prefactor.js";

let ctx: TestContext;
let a: ReturnType<typeof api>;
beforeAll(async () => {
  ctx = await createTestContext();
  a = api(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);

describe("POST /pfid/generate", () => {
  it("mints valid PFIDs in the account's partition", async () => {
    const res = await a.post("/pfid/generate", { count: 3 }).expect(200);
    const { pfids } = PfidGenerateResponseSchema.parse(res.body).details;
    expect(pfids).toHaveLength(3);
    const account = await ctx.db.prisma.account.findUniqueOrThrow({ where: { id: ctx.accountId } });
    for (const id of pfids) {
      expect(id).toMatch(PFID_PATTERN);
      expect(decodePfid(id).partition).toBe(account.pfidPartition);
    }
    expect(new Set(pfids).size).toBe(3);
  });

  it("defaults to one and refuses more than 100", async () => {
    const one = await a.post("/pfid/generate", {}).expect(200);
    expect(one.body.details.pfids).toHaveLength(1);
    const res = await a.post("/pfid/generate", { count: 101 }).expect(400);
    expect(errorOf(res.body)).toMatchObject({ code: "invalid_value" });
    expect(res.body.message).toContain("count");
  });
});

describe("environments", () => {
  it("has the default environment and supports create, rename, get, list and delete", async () => {
    const list = EnvironmentListSchema.parse((await a.get("/environment").expect(200)).body);
    expect(list.summaries.map((e) => e.name)).toContain("default");

    const created = EnvironmentResponseSchema.parse((await a.post("/environment", { details: { name: "staging" } }).expect(200)).body).details;
    expect(created).toMatchObject({ type: "environment", name: "staging", account_id: ctx.accountId });
    const renamed = EnvironmentResponseSchema.parse((await a.put(`/environment/${created.id}`, { details: { name: "stage" } }).expect(200)).body);
    expect(renamed.details.name).toBe("stage");
    expect((await a.get(`/environment/${created.id}`).expect(200)).body.details.name).toBe("stage");
    DeletedResponseSchema.parse((await a.delete(`/environment/${created.id}`).expect(200)).body);
    expect(errorOf((await a.get(`/environment/${created.id}`).expect(404)).body).code).toBe("not_found");
  });

  it("refuses to delete the default environment", async () => {
    const list = EnvironmentListSchema.parse((await a.get("/environment").expect(200)).body);
    const def = list.summaries.find((e) => e.name === "default")!;
    expect(errorOf((await a.delete(`/environment/${def.id}`).expect(409)).body).code).toBe("invalid_action");
  });
});

describe("agents", () => {
  it("creates, reads, updates, retires, reinstates and deletes", async () => {
    const res = await a.post("/agent", { details: { name: "planner", description: "plans", external_identifier: "ext-planner" } }).expect(200);
    const agent = AgentResponseSchema.parse(res.body).details;
    expect(agent).toMatchObject({
      type: "agent",
      name: "planner",
      description: "plans",
      external_identifier: "ext-planner",
      status: "pending",
      instance_counts: { total: 0, pending: 0, active: 0, complete: 0, failed: 0, cancelled: 0, terminated: 0, finished: 0 },
    });
    const updated = AgentResponseSchema.parse((await a.put(`/agent/${agent.id}`, { details: { description: "plans well" } }).expect(200)).body);
    expect(updated.details).toMatchObject({ name: "planner", description: "plans well" });

    expect(AgentResponseSchema.parse((await a.post(`/agent/${agent.id}/retire`, {}).expect(200)).body).details.status).toBe("retired");
    expect(errorOf((await a.post(`/agent/${agent.id}/retire`, {}).expect(409)).body).code).toBe("invalid_action");
    expect(AgentResponseSchema.parse((await a.post(`/agent/${agent.id}/reinstate`, {}).expect(200)).body).details.status).toBe("pending");
    DeletedResponseSchema.parse((await a.delete(`/agent/${agent.id}`).expect(200)).body);
    await a.get(`/agent/${agent.id}`).expect(404);
  });

  it("keeps names and external identifiers unique per account", async () => {
    await a.post("/agent", { details: { name: "unique-one", external_identifier: "u1" } }).expect(200);
    expect(errorOf((await a.post("/agent", { details: { name: "unique-one" } }).expect(409)).body).code).toBe("invalid_action");
    expect(errorOf((await a.post("/agent", { details: { name: "other", external_identifier: "u1" } }).expect(409)).body).code).toBe("invalid_action");
  });

  it("accepts a client PFID and rejects an invalid one", async () => {
    const [id] = (await a.post("/pfid/generate", {}).expect(200)).body.details.pfids;
    expect((await a.post("/agent", { details: { name: "with-id", id } }).expect(200)).body.details.id).toBe(id);
    const bad = await a.post("/agent", { details: { name: "bad-id", id: "not-a-pfid" } }).expect(400);
    expect(errorOf(bad.body)).toMatchObject({ code: "invalid_value" });
    expect(bad.body.errors["details.id"]).toBeDefined();
  });

  it("counts instances and refuses to delete an agent that has them", async () => {
    const instance = await registerInstance(ctx, { agent_version: { name: "counted", external_identifier: "1" } });
    const agent = AgentResponseSchema.parse((await a.get(`/agent/${instance.agent_id}`).expect(200)).body).details;
    expect(agent.instance_counts).toMatchObject({ total: 1, pending: 1, finished: 0 });
    expect(agent.status).toBe("active");
    expect(errorOf((await a.delete(`/agent/${agent.id}`).expect(409)).body).code).toBe("invalid_action");
  });

  it("paginates and sorts, capping page_size at 100", async () => {
    for (const name of ["zeta", "alpha", "mu"]) await a.post("/agent", { details: { name: `sort-${name}` } }).expect(200);
    const page = AgentListSchema.parse((await a.get("/agent?sorting=-name&pagination[page_size]=2").expect(200)).body);
    expect(page.summaries).toHaveLength(2);
    expect(page.sorting).toEqual({ field: "name", direction: "desc" });
    expect(page.pagination).toMatchObject({ page_size: 2, page_offset: 0, page_index: 0, item_start: 1, item_end: 2, next_page_offset: 2, previous_page_offset: null });
    const names = page.summaries.map((s) => s.name);
    expect([...names].sort().reverse()).toEqual(names);

    const second = AgentListSchema.parse((await a.get("/agent?sorting[field]=name&sorting[direction]=desc&pagination[offset]=2&pagination[page_size]=2").expect(200)).body);
    expect(second.pagination.previous_page_offset).toBe(0);
    expect(second.summaries[0]!.name <= names[1]!).toBe(true);

    expect(errorOf((await a.get("/agent?pagination[page_size]=101").expect(400)).body).code).toBe("invalid_value");
    await a.get("/agent?pagination[page_size]=100").expect(200);
    const unknownSort = await a.get("/agent?sorting=-password").expect(400);
    expect(errorOf(unknownSort.body).code).toBe("invalid_value");
    expect(unknownSort.body.message).toContain("password");
    expect(errorOf((await a.get("/agent?pagination[offset]=-1").expect(400)).body).code).toBe("invalid_value");
    expect(errorOf((await a.get("/agent?colour=red").expect(400)).body).message).toContain("colour");
  });
});

describe("agent schema versions", () => {
  it("normalizes span_type_schemas into a map with defaults and validation results", async () => {
    const agent = (await a.post("/agent", { details: { name: "schema-owner" } }).expect(200)).body.details;
    const res = await a
      .post("/agent_schema_version", {
        details: {
          agent_id: agent.id,
          external_identifier: "s1",
          span_type_schemas: [
            { name: "llm", params_schema: { type: "object" } },
            { name: "broken", params_schema: { type: "not-a-type" }, title: "Broken", template: "{{ x }}" },
          ],
        },
      })
      .expect(200);
    const version = AgentSchemaVersionResponseSchema.parse(res.body).details;
    expect(version.span_type_schemas.llm).toEqual({
      name: "llm",
      title: "llm",
      description: null,
      template: null,
      params_schema: { type: "object" },
      result_schema: {},
      params_schema_validation: { status: "success" },
      result_schema_validation: { status: "success" },
    });
    expect(version.span_type_schemas.broken!.params_schema_validation.status).toBe("error");
    expect(version.span_type_schemas.broken!.params_schema_validation.message).toBeTruthy();
    expect(version.span_type_schemas.broken!.title).toBe("Broken");

    // The same schemas again (key order changed) in another version: the same verdicts and message.
    const again = await a
      .post("/agent_schema_version", {
        details: {
          agent_id: agent.id,
          external_identifier: "s2",
          span_type_schemas: [{ name: "other", params_schema: { type: "not-a-type" }, result_schema: { type: "object" } }],
        },
      })
      .expect(200);
    const other = AgentSchemaVersionResponseSchema.parse(again.body).details.span_type_schemas.other!;
    expect(other.params_schema_validation).toEqual(version.span_type_schemas.broken!.params_schema_validation);
    expect(other.result_schema_validation).toEqual({ status: "success" });
  });

  it("combines the legacy maps; a missing result schema accepts only {}", async () => {
    const agent = (await a.post("/agent", { details: { name: "legacy-owner" } }).expect(200)).body.details;
    const res = await a
      .post("/agent_schema_version", {
        details: {
          agent_id: agent.id,
          external_identifier: "legacy",
          span_schemas: { search: { type: "object", properties: { q: { type: "string" } } }, plan: { type: "object" } },
          span_result_schemas: { search: { type: "object" } },
        },
      })
      .expect(200);
    const types = AgentSchemaVersionResponseSchema.parse(res.body).details.span_type_schemas;
    expect(Object.keys(types).sort()).toEqual(["plan", "search"]);
    expect(types.search!.result_schema).toEqual({ type: "object" });
    expect(types.plan!.result_schema).toEqual({ type: "object", additionalProperties: false });

    const list = AgentSchemaVersionListSchema.parse((await a.get(`/agent_schema_version?agent_id=${agent.id}`).expect(200)).body);
    expect(list.summaries).toHaveLength(1);
  });

  it("reuses a version for the same identifier and content, and makes a new one for new content", async () => {
    const agent = (await a.post("/agent", { details: { name: "reuse-owner" } }).expect(200)).body.details;
    const body = { details: { agent_id: agent.id, ...seedSchemaVersion } };
    const first = (await a.post("/agent_schema_version", body).expect(200)).body.details.id;
    const again = (await a.post("/agent_schema_version", body).expect(200)).body.details.id;
    expect(again).toBe(first);
    const changed = structuredClone(body);
    (changed.details.span_type_schemas[1] as { result_schema: object }).result_schema = { type: "object" };
    expect((await a.post("/agent_schema_version", changed).expect(200)).body.details.id).not.toBe(first);
  });

  it("rejects duplicate span type names", async () => {
    const agent = (await a.post("/agent", { details: { name: "dup-owner" } }).expect(200)).body.details;
    const res = await a.post("/agent_schema_version", {
      details: { agent_id: agent.id, external_identifier: "d", span_type_schemas: [{ name: "x", params_schema: {} }, { name: "x", params_schema: {} }] },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).message).toContain("duplicate");
  });
});

describe("agent versions", () => {
  it("creates and lists versions, marking the current one", async () => {
    const instance = await registerInstance(ctx, { agent_version: { name: "versioned", external_identifier: "2.0.0" } });
    const versions = AgentVersionListSchema.parse((await a.get(`/agent_version?agent_id=${instance.agent_id}`).expect(200)).body);
    expect(versions.summaries).toHaveLength(1);
    expect(versions.summaries[0]).toMatchObject({ external_identifier: "2.0.0", name: "versioned", current_version: true, agent_schema_version_id: instance.agent_schema_version_id });

    const created = await a
      .post("/agent_version", { details: { agent_id: instance.agent_id, agent_schema_version_id: instance.agent_schema_version_id, external_identifier: "2.1.0" } })
      .expect(200);
    const version = AgentVersionResponseSchema.parse(created.body).details;
    expect(version.current_version).toBe(false);
    expect((await a.get(`/agent_version/${version.id}`).expect(200)).body.details.external_identifier).toBe("2.1.0");
  });

  it("moves the current version with each registration, and leaves the agent untouched when it already is", async () => {
    const register = (external_identifier: string) => registerInstance(ctx, { agent_version: { name: "moving", external_identifier } });
    const currentOf = async (agentId: string) => {
      const list = AgentVersionListSchema.parse((await a.get(`/agent_version?agent_id=${agentId}`).expect(200)).body);
      return list.summaries.filter((v) => v.current_version).map((v) => v.external_identifier);
    };
    const first = await register("1.0.0");
    const agentAt = async () => (await a.get(`/agent/${first.agent_id}`).expect(200)).body.details.updated_at as string;
    const before = await agentAt();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await register("1.0.0");
    await register("1.0.0");
    expect(await agentAt()).toBe(before);
    expect(await currentOf(first.agent_id)).toEqual(["1.0.0"]);

    await register("2.0.0");
    expect(await currentOf(first.agent_id)).toEqual(["2.0.0"]);
    expect(await agentAt()).not.toBe(before);
    await register("1.0.0");
    expect(await currentOf(first.agent_id)).toEqual(["1.0.0"]);
  });
});

describe("bad input", () => {
  it("names the field for wrong types, missing and unknown fields", async () => {
    const wrongType = await a.post("/agent", { details: { name: 42 } }).expect(400);
    expect(errorOf(wrongType.body)).toMatchObject({ code: "invalid_value" });
    expect(wrongType.body.message).toContain("details.name");

    const missing = await a.post("/agent", { details: {} }).expect(400);
    expect(errorOf(missing.body)).toMatchObject({ code: "required_value" });
    expect(missing.body.errors["details.name"].code).toBe("required_value");

    const unknown = await a.post("/agent", { details: { name: "x", colour: "red" } }).expect(400);
    expect(unknown.body.message).toContain("colour");

    const noBody = await a.post("/environment").expect(400);
    expect(errorOf(noBody.body).code).toBe("required_value");
  });

  it("rejects an idempotency key over 64 characters", async () => {
    const res = await a.post("/environment", { details: { name: "k" }, idempotency_key: "k".repeat(65) }).expect(400);
    expect(errorOf(res.body).code).toBe("invalid_value");
    expect(res.body.message).toContain("idempotency_key");
  });
});
