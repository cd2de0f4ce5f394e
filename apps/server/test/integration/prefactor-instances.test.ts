import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentInstanceListSchema, AgentInstanceResponseSchema, AgentSpanResponseSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, registerInstance, seedSchemaVersion, startedInstance } from "../helpers/prefactor.js";

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
const instanceOf = (body: unknown) => AgentInstanceResponseSchema.parse(body).details;

describe("the spec's wire walk-through: register → start → finish", () => {
  it("carries every field real SDKs require", async () => {
    const registered = await a
      .post("/agent_instance/register", {
        agent_version: { name: "walkthrough-bot", external_identifier: "1.0.0", description: "first" },
        agent_schema_version: seedSchemaVersion,
        purpose: "eval",
        idempotency_key: "walk-1",
      })
      .expect(200);
    const pending = instanceOf(registered.body);
    for (const field of ["type", "account_id", "agent_id", "agent_version_id", "environment_id", "agent_deployment_id", "status", "inserted_at", "updated_at"]) {
      expect(registered.body.details).toHaveProperty(field);
    }
    expect(pending).toMatchObject({
      type: "agent_instance",
      account_id: ctx.accountId,
      status: "pending",
      purpose: "eval",
      agent_deployment_id: null,
      started_at: null,
      finished_at: null,
      span_counts: { total: 0, pending: 0, active: 0, complete: 0, failed: 0, cancelled: 0, finished: 0 },
    });
    expect(pending.environment_id).toBeTruthy();
    expect(pending.inserted_at).toMatch(/Z$/);

    const started = instanceOf((await a.post(`/agent_instance/${pending.id}/start`, { timestamp: "2026-01-01T10:00:00+02:00" }).expect(200)).body);
    expect(started).toMatchObject({ status: "active", started_at: "2026-01-01T08:00:00.000Z" });

    const finished = instanceOf((await a.post(`/agent_instance/${pending.id}/finish`, {}).expect(200)).body);
    expect(finished.status).toBe("complete");
    expect(finished.finished_at).toBeTruthy();
    expect(instanceOf((await a.get(`/agent_instance/${pending.id}`).expect(200)).body)).toMatchObject({ status: "complete" });
  });
});

describe("register", () => {
  it("reuses the version and schema version for the same identifiers and content", async () => {
    const first = await registerInstance(ctx, { agent_version: { name: "reuse-bot", external_identifier: "1" } });
    const second = await registerInstance(ctx, { agent_version: { name: "reuse-bot", external_identifier: "1" } });
    expect(second.agent_id).toBe(first.agent_id);
    expect(second.agent_schema_version_id).toBe(first.agent_schema_version_id);
    expect((second as unknown as { agent_version_id: string }).agent_version_id).toBe((first as unknown as { agent_version_id: string }).agent_version_id);
    const changed = await registerInstance(ctx, {
      agent_version: { name: "reuse-bot", external_identifier: "1" },
      agent_schema_version: { external_identifier: "v0", span_schemas: { other: { type: "object" } } },
    });
    expect(changed.agent_schema_version_id).not.toBe(first.agent_schema_version_id);
  });

  it("uses agent_id when given and needs agent_id or a version name", async () => {
    const agent = (await a.post("/agent", { details: { name: "by-id" } }).expect(200)).body.details;
    const inst = await registerInstance(ctx, { agent_id: agent.id, agent_version: { external_identifier: "9" } });
    expect(inst.agent_id).toBe(agent.id);
    const res = await a.post("/agent_instance/register", { agent_version: { external_identifier: "9" }, agent_schema_version: seedSchemaVersion }).expect(400);
    expect(errorOf(res.body).code).toBe("required_value");
    const unknownAgent = await a.post("/agent_instance/register", { agent_id: "nope", agent_version: { external_identifier: "9" }, agent_schema_version: seedSchemaVersion });
    expect(unknownAgent.status).toBe(404);
  });

  it("creates exactly one instance for 20 concurrent identical registers with one key", async () => {
    const body = {
      agent_version: { name: "concurrent-bot", external_identifier: "1.0.0" },
      agent_schema_version: seedSchemaVersion,
      idempotency_key: "concurrent-register-key",
    };
    const responses = await Promise.all(Array.from({ length: 20 }, () => a.post("/agent_instance/register", body)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(responses.map((r) => r.text)).size).toBe(1);
    const id = responses[0]!.body.details.id;
    const agentId = responses[0]!.body.details.agent_id;
    expect(await ctx.db.prisma.agentInstance.count({ where: { accountId: ctx.accountId, agentId } })).toBe(1);
    expect(responses[0]!.body.details.id).toBe(id);
  });

  it("replays the same response for a repeated key and refuses the key for another request", async () => {
    const body = { agent_version: { name: "replay-bot", external_identifier: "1" }, agent_schema_version: seedSchemaVersion, idempotency_key: "replay-key" };
    const first = await a.post("/agent_instance/register", body).expect(200);
    const again = await a.post("/agent_instance/register", body).expect(200);
    expect(again.text).toBe(first.text);
    const other = await a.post("/agent_instance/register", { ...body, purpose: "eval" }).expect(409);
    expect(errorOf(other.body).code).toBe("idempotency_key_already_used");
    const otherPath = await a.post(`/agent_instance/${first.body.details.id}/start`, { idempotency_key: "replay-key" }).expect(409);
    expect(errorOf(otherPath.body).code).toBe("idempotency_key_already_used");
  });

  it("does not record a failed request, so it can be fixed and retried with the same key", async () => {
    const bad = await a.post("/agent_instance/register", { agent_id: "missing", agent_version: { external_identifier: "1" }, agent_schema_version: seedSchemaVersion, idempotency_key: "fix-me" });
    expect(bad.status).toBe(404);
    await a
      .post("/agent_instance/register", { agent_version: { name: "fixed-bot", external_identifier: "1" }, agent_schema_version: seedSchemaVersion, idempotency_key: "fix-me" })
      .expect(200);
  });
});

describe("the instance state machine", () => {
  it("allows only the legal transitions", async () => {
    const inst = await registerInstance(ctx);
    expect(errorOf((await a.post(`/agent_instance/${inst.id}/finish`, {}).expect(409)).body).code).toBe("invalid_action");
    expect(errorOf((await a.post(`/agent_instance/${inst.id}/terminate`, { reason: "x" }).expect(409)).body).code).toBe("invalid_action");
    await a.post(`/agent_instance/${inst.id}/start`, {}).expect(200);
    expect(errorOf((await a.post(`/agent_instance/${inst.id}/start`, {}).expect(409)).body).code).toBe("invalid_action");
    expect(errorOf((await a.post(`/agent_instance/${inst.id}/finish`, { status: "cancelled" }).expect(409)).body).code).toBe("invalid_action");
    expect(instanceOf((await a.post(`/agent_instance/${inst.id}/finish`, { status: "failed" }).expect(200)).body).status).toBe("failed");
    expect(errorOf((await a.post(`/agent_instance/${inst.id}/finish`, {}).expect(409)).body).code).toBe("invalid_action");
  });

  it("answers each transition with the instance exactly as stored", async () => {
    const stored = async (id: string) => instanceOf((await a.get(`/agent_instance/${id}`).expect(200)).body);
    const finished = await startedInstance(ctx);
    await a.post("/agent_spans", { details: { agent_instance_id: finished.id, schema_name: "llm", status: "complete", payload: {} } }).expect(200);
    const started = instanceOf((await a.post(`/agent_instance/${(await registerInstance(ctx)).id}/start`, { timestamp: "2026-03-01T00:00:00Z" }).expect(200)).body);
    expect(started).toEqual(await stored(started.id));
    expect(started).toMatchObject({ status: "active", started_at: "2026-03-01T00:00:00.000Z" });

    const done = instanceOf((await a.post(`/agent_instance/${finished.id}/finish`, { status: "complete" }).expect(200)).body);
    expect(done).toEqual(await stored(finished.id));
    expect(done.span_counts).toMatchObject({ total: 1, complete: 1 });

    const cancelled = instanceOf((await a.post(`/agent_instance/${(await registerInstance(ctx)).id}/finish`, { status: "cancelled" }).expect(200)).body);
    expect(cancelled).toEqual(await stored(cancelled.id));

    const running = await startedInstance(ctx);
    const terminated = instanceOf((await a.post(`/agent_instance/${running.id}/terminate`, { reason: "stop" }).expect(200)).body);
    expect(terminated).toEqual(await stored(running.id));
  });

  it("cancels a pending instance with both timestamps at the given time", async () => {
    const inst = await registerInstance(ctx);
    const cancelled = instanceOf((await a.post(`/agent_instance/${inst.id}/finish`, { status: "cancelled", timestamp: "2026-03-01T00:00:00Z" }).expect(200)).body);
    expect(cancelled).toMatchObject({ status: "cancelled", started_at: "2026-03-01T00:00:00.000Z", finished_at: "2026-03-01T00:00:00.000Z" });
  });

  it("terminates an active instance, closes its open spans and tells SDKs to stop", async () => {
    const inst = await startedInstance(ctx);
    const active = AgentSpanResponseSchema.parse(
      (await a.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: {} } }).expect(200)).body,
    ).details;
    const pending = (await a.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "tool", status: "pending", payload: {} } }).expect(200)).body.details;
    const terminated = instanceOf((await a.post(`/agent_instance/${inst.id}/terminate`, { reason: "budget exceeded" }).expect(200)).body);
    expect(terminated).toMatchObject({ status: "terminated", termination_reason: "budget exceeded" });
    expect(terminated.span_counts).toMatchObject({ total: 2, failed: 1, cancelled: 1, active: 0, pending: 0, finished: 2 });
    expect((await a.get(`/agent_spans/${active.id}`).expect(200)).body.details.status).toBe("failed");
    expect((await a.get(`/agent_spans/${pending.id}`).expect(200)).body.details.status).toBe("cancelled");

    for (const res of [
      await a.post(`/agent_instance/${inst.id}/finish`, {}),
      await a.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: {} } }),
      await a.post(`/agent_spans/${active.id}/finish`, {}),
    ]) {
      expect(res.status).toBe(409);
      expect(errorOf(res.body)).toMatchObject({ code: "invalid_action", control: { terminate: true, reason: "budget exceeded" } });
    }
  });

  it("rejects invalid timestamps", async () => {
    const inst = await registerInstance(ctx);
    const res = await a.post(`/agent_instance/${inst.id}/start`, { timestamp: "yesterday" }).expect(400);
    expect(errorOf(res.body).code).toBe("invalid_value");
    expect(res.body.message).toContain("timestamp");
    // An impossible calendar date is refused, not rolled over; a time without a zone is UTC (docs/prefactor.md).
    await a.post(`/agent_instance/${inst.id}/start`, { timestamp: "2026-02-30T00:00:00Z" }).expect(400);
    const started = await a.post(`/agent_instance/${inst.id}/start`, { timestamp: "2026-01-01T00:00:00" }).expect(200);
    expect(instanceOf(started.body).started_at).toBe("2026-01-01T00:00:00.000Z");
  });
});

describe("GET /agent_instance", () => {
  it("filters by agent and status and paginates", async () => {
    const agent = (await a.post("/agent", { details: { name: "listed" } }).expect(200)).body.details;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await registerInstance(ctx, { agent_id: agent.id, agent_version: { external_identifier: "1" } })).id);
    await a.post(`/agent_instance/${ids[0]}/start`, {}).expect(200);

    const all = AgentInstanceListSchema.parse((await a.get(`/agent_instance?agent_id=${agent.id}`).expect(200)).body);
    expect(all.summaries.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(all.pagination.item_count).toBe(3);
    const active = AgentInstanceListSchema.parse((await a.get(`/agent_instance?agent_id=${agent.id}&status=active`).expect(200)).body);
    expect(active.summaries.map((s) => s.id)).toEqual([ids[0]]);
    const paged = AgentInstanceListSchema.parse((await a.get(`/agent_instance?agent_id=${agent.id}&pagination[page_size]=2&pagination[offset]=2`).expect(200)).body);
    expect(paged.summaries).toHaveLength(1);
    expect(paged.pagination).toMatchObject({ item_count: 3, page_count: 2, page_index: 1, next_page_offset: null, previous_page_offset: 0 });
    expect(errorOf((await a.get(`/agent_instance?status=sleeping`).expect(400)).body).code).toBe("invalid_value");
  });
});

describe("tenant isolation", () => {
  it("answers 404 for every id of another account", async () => {
    const inst = await startedInstance(ctx);
    const span = (await a.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: {} } }).expect(200)).body.details;
    const other = await ctx.newAccount();
    const b = api(ctx, other.token);
    const paths = [
      `/agent_instance/${inst.id}`,
      `/agent_spans/${span.id}`,
      `/agent/${inst.agent_id}`,
      `/agent_schema_version/${inst.agent_schema_version_id}`,
    ];
    for (const path of paths) expect(errorOf((await b.get(path).expect(404)).body).code).toBe("not_found");
    await b.post(`/agent_instance/${inst.id}/finish`, {}).expect(404);
    await b.post(`/agent_instance/${inst.id}/terminate`, { reason: "x" }).expect(404);
    await b.post(`/agent_spans/${span.id}/finish`, {}).expect(404);
    await b.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: {} } }).expect(404);
    await b.put(`/agent/${inst.agent_id}`, { details: { name: "stolen" } }).expect(404);
    await b.delete(`/agent/${inst.agent_id}`).expect(404);
    const list = AgentInstanceListSchema.parse((await b.get("/agent_instance").expect(200)).body);
    expect(list.summaries).toHaveLength(0);
    expect((await b.get(`/agent_spans?agent_instance_id=${inst.id}`).expect(200)).body.summaries).toHaveLength(0);
    expect((await b.get(`/agent`).expect(200)).body.summaries).toHaveLength(0);
    // and the owner still sees it unchanged
    expect((await a.get(`/agent_instance/${inst.id}`).expect(200)).body.details.status).toBe("active");
  });
});
