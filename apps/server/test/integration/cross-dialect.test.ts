import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentInstanceResponseSchema,
  AgentSpanListSchema,
  AvCompareAgentsResponseSchema,
  AvTraceDetailSchema,
  AvTraceListResponseSchema,
} from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { SEED_BATCH, bearer } from "../helpers/agentvista.js";
import { api } from "../helpers/prefactor.js";

let ctx: TestContext;
let a: ReturnType<typeof api>;
beforeAll(async () => {
  ctx = await createTestContext();
  a = api(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const av = {
  get: (path: string) => ctx.http().get(`/api/v1${path}`).set(bearer(ctx.token)),
  post: (path: string, body: unknown) => ctx.http().post(`/api/v1${path}`).set(bearer(ctx.token)).send(body as object),
  patch: (path: string, body: unknown) => ctx.http().patch(`/api/v1${path}`).set(bearer(ctx.token)).send(body as object),
};

describe("one domain model behind both dialects", () => {
  it("shows a trace ingested by batch as an agent instance with agent spans", async () => {
    expect((await av.post("/traces/batch", SEED_BATCH).expect(200)).body).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const traceId = SEED_BATCH.traces[0]!.trace.trace_id;
    const instance = AgentInstanceResponseSchema.parse((await a.get(`/agent_instance/${traceId}`).expect(200)).body).details;
    expect(instance).toMatchObject({
      type: "agent_instance",
      id: traceId,
      account_id: ctx.accountId,
      status: "complete",
      started_at: "2024-01-15T10:00:00.000Z",
      finished_at: "2024-01-15T10:00:02.000Z",
      success: true,
      outcome: "qualified",
      total_tokens: 1500,
      total_cost_usd: "0.004500",
      span_counts: { total: 1, complete: 1, finished: 1 },
    });
    const spans = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${traceId}&include_summaries=true`).expect(200)).body);
    expect(spans.summaries).toHaveLength(1);
    expect(spans.summaries[0]).toMatchObject({
      id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
      agent_instance_id: traceId,
      schema_name: "llm",
      schema_title: "gpt-4o classify",
      status: "complete",
      payload_validation: { status: "unchecked" },
    });
    const byAgent = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_id=${instance.agent_id}`).expect(200)).body);
    expect(byAgent.summaries.map((s) => s.id)).toEqual(["6ba7b810-9dad-11d1-80b4-00c04fd430c8"]);
    const agent = (await a.get(`/agent/${instance.agent_id}`).expect(200)).body.details;
    expect(agent).toMatchObject({ name: "lead-qualifier", instance_counts: { total: 1, complete: 1 } });
  });

  it("shows a run reported through Prefactor in the dashboard and in compare-agents, and takes outcomes back", async () => {
    const registered = (await a
      .post("/agent_instance/register", {
        agent_version: { name: "prefactor-runner", external_identifier: "1.0.0" },
        agent_schema_version: { external_identifier: "v0", span_schemas: { llm: { type: "object" } } },
      })
      .expect(200)).body.details;
    await a.post(`/agent_instance/${registered.id}/start`, { timestamp: "2026-05-01T12:00:00Z" }).expect(200);
    const root = (await a.post("/agent_spans", { details: { agent_instance_id: registered.id, schema_name: "llm", status: "active", payload: { q: 1 }, started_at: "2026-05-01T12:00:01Z" } }).expect(200)).body.details;
    await a.post("/agent_spans", { details: { agent_instance_id: registered.id, schema_name: "llm", status: "complete", parent_span_id: root.id, payload: {}, started_at: "2026-05-01T12:00:02Z", finished_at: "2026-05-01T12:00:03Z" } }).expect(200);
    await a.post(`/agent_spans/${root.id}/finish`, { timestamp: "2026-05-01T12:00:04Z" }).expect(200);
    await a.post(`/agent_instance/${registered.id}/finish`, { timestamp: "2026-05-01T12:00:05Z" }).expect(200);

    const list = AvTraceListResponseSchema.parse((await av.get("/dashboard/traces/?agent=prefactor-runner").expect(200)).body);
    expect(list.results).toHaveLength(1);
    expect(list.results[0]).toMatchObject({ trace_id: registered.id, agent_name: "prefactor-runner", status: "completed", duration_ms: 5000 });

    const detail = AvTraceDetailSchema.parse((await av.get(`/dashboard/traces/${registered.id}`).expect(200)).body);
    expect(detail.spans.map((s) => s.span_id)).toEqual([root.id, expect.any(String)]);
    expect(detail.spans[1]!.parent_span_id).toBe(root.id);
    expect(detail.spans.every((s) => s.status === "completed" && s.type === "llm")).toBe(true);

    await av.patch(`/dashboard/traces/${registered.id}/outcome`, { success: false, outcome: "escalated" }).expect(200);
    const instance = AgentInstanceResponseSchema.parse((await a.get(`/agent_instance/${registered.id}`).expect(200)).body).details;
    expect(instance).toMatchObject({ success: false, outcome: "escalated" });

    const compared = AvCompareAgentsResponseSchema.parse(
      (await av.get(`/dashboard/traces/compare-agents?agent_a=prefactor-runner&agent_b=lead-qualifier`).expect(200)).body,
    );
    expect(compared.agents[0]).toMatchObject({ name: "prefactor-runner", total_runs: 1, completed_runs: 1, unsuccessful_runs: 1, success_rate: 0, outcomes: { escalated: 1 } });
    expect(compared.agents[1]).toMatchObject({ name: "lead-qualifier", total_runs: 1, successful_runs: 1, success_rate: 100 });
  });

  it("closes a span that landed on a run as it was terminated, at the next sweep", async () => {
    const registered = (await a
      .post("/agent_instance/register", { agent_version: { name: "straggler-runner", external_identifier: "1" }, agent_schema_version: { external_identifier: "v0" } })
      .expect(200)).body.details;
    await a.post(`/agent_instance/${registered.id}/start`, {}).expect(200);
    await a.post(`/agent_instance/${registered.id}/terminate`, { reason: "operator" }).expect(200);
    // The race, reproduced directly: a span insert that saw the run still active commits after the terminate.
    await ctx.db.prisma.span.create({
      data: { accountId: ctx.accountId, id: "straggler-span", agentInstanceId: registered.id, agentId: registered.agent_id, schemaName: "llm", status: "active", startedAt: new Date() },
    });
    const swept = await ctx.services.sweeper.sweepStaleRuns(new Date());
    expect(swept.spans).toBeGreaterThanOrEqual(1);
    expect((await a.get("/agent_spans/straggler-span").expect(200)).body.details.status).toBe("failed");
  });

  it("lets a terminated Prefactor run read as timed_out in AgentVista (killed / stale)", async () => {
    const registered = (await a
      .post("/agent_instance/register", { agent_version: { name: "terminated-runner", external_identifier: "1" }, agent_schema_version: { external_identifier: "v0" } })
      .expect(200)).body.details;
    await a.post(`/agent_instance/${registered.id}/start`, {}).expect(200);
    await a.post(`/agent_instance/${registered.id}/terminate`, { reason: "operator" }).expect(200);
    const detail = AvTraceDetailSchema.parse((await av.get(`/dashboard/traces/${registered.id}`).expect(200)).body);
    expect(detail.status).toBe("timed_out");
  });
});
