/**
 * Races: many identical or conflicting requests at once must leave one effect and a consistent
 * state. Runs on whichever database DATABASE_URL selects (PostgreSQL with a pool of 8 connections,
 * so the transactions really overlap; PGlite serializes them on its one connection).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentInstanceResponseSchema, AgentSpanResponseSchema, AvTraceDetailSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, seedSchemaVersion, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0" });
});
afterAll(async () => {
  await ctx?.close();
});

const FINISHERS = 50;
const SAME_KEY = 20;
const RACES = 10;
const figures: string[] = [];

const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

function statusCounts(responses: { status: number }[]) {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe("one span finished by many requests at once", () => {
  it(`${FINISHERS} concurrent finishes: exactly one 200, the others 409 invalid_action`, async () => {
    const instance = await startedInstance(ctx, { agent_version: { name: "racer", external_identifier: "1" } });
    const span = await api(ctx).post("/agent_spans", { details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", payload: { model: "m" } } }).expect(200);
    const id = span.body.details.id as string;
    const answers = await times(FINISHERS, (i) => api(ctx).post(`/agent_spans/${id}/finish`, { status: i % 2 ? "complete" : "failed", result_payload: { tokens: i } }));
    expect(statusCounts(answers)).toEqual({ 200: 1, 409: FINISHERS - 1 });
    for (const res of answers.filter((r) => r.status === 409)) expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("invalid_action");
    // The stored span is the winner's.
    const winner = AgentSpanResponseSchema.parse(answers.find((r) => r.status === 200)!.body).details;
    const stored = AgentSpanResponseSchema.parse((await api(ctx).get(`/agent_spans/${id}`).expect(200)).body).details;
    expect({ status: stored.status, result_payload: stored.result_payload }).toEqual({ status: winner.status, result_payload: winner.result_payload });
    figures.push(`${FINISHERS} finishes of one span: 1 × 200, ${FINISHERS - 1} × 409`);
  });

  it(`${FINISHERS} concurrent finishes of one instance: exactly one 200`, async () => {
    const instance = await startedInstance(ctx, { agent_version: { name: "racer", external_identifier: "1" } });
    const answers = await times(FINISHERS, () => api(ctx).post(`/agent_instance/${instance.id}/finish`, { status: "complete" }));
    expect(statusCounts(answers)).toEqual({ 200: 1, 409: FINISHERS - 1 });
    for (const res of answers.filter((r) => r.status === 409)) expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("invalid_action");
    figures.push(`${FINISHERS} finishes of one instance: 1 × 200, ${FINISHERS - 1} × 409`);
  });
});

describe(`${SAME_KEY} concurrent requests with one idempotency key`, () => {
  /** Sends the same request SAME_KEY times at once: all 200 with the same bytes. */
  async function race(path: string, body: Record<string, unknown>) {
    const answers = await times(SAME_KEY, () => api(ctx).post(path, body));
    expect(statusCounts(answers), JSON.stringify(answers.find((r) => r.status !== 200)?.body)).toEqual({ 200: SAME_KEY });
    expect(new Set(answers.map((r) => r.text)).size).toBe(1);
    expect(answers.filter((r) => r.headers["idempotent-replayed"] !== "true")).toHaveLength(1);
    return answers[0]!.body;
  }

  it("register: one instance (and one agent), identical answers", async () => {
    const name = `idem-${randomUUID()}`;
    const body = await race("/agent_instance/register", { agent_version: { name, external_identifier: "1" }, agent_schema_version: seedSchemaVersion, idempotency_key: `reg-${randomUUID()}` });
    const instance = AgentInstanceResponseSchema.parse(body).details;
    expect(await ctx.db.prisma.agentInstance.count({ where: { accountId: ctx.accountId, agentId: instance.agent_id } })).toBe(1);
    expect(await ctx.db.prisma.agent.count({ where: { accountId: ctx.accountId, name } })).toBe(1);
    figures.push(`register ×${SAME_KEY}, one key: 1 instance`);
  });

  it("span create (server-chosen id): one span, identical answers", async () => {
    const instance = await startedInstance(ctx, { agent_version: { name: "idem-spans", external_identifier: "1" } });
    const body = await race("/agent_spans", { details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", payload: { model: "m" } }, idempotency_key: `span-${randomUUID()}` });
    expect(AgentSpanResponseSchema.parse(body).details.agent_instance_id).toBe(instance.id);
    expect(await ctx.db.prisma.span.count({ where: { accountId: ctx.accountId, agentInstanceId: instance.id } })).toBe(1);
    figures.push(`span create ×${SAME_KEY}, one key: 1 span`);
  });

  it("span create (client-chosen id) and its finish: one span, identical answers", async () => {
    const instance = await startedInstance(ctx, { agent_version: { name: "idem-span-ids", external_identifier: "1" } });
    const [id] = (await api(ctx).post("/pfid/generate", {}).expect(200)).body.details.pfids as string[];
    // The losers' writes fail on the span's id rather than on the key: they replay all the same.
    const created = await race("/agent_spans", { details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", payload: { model: "m" }, id }, idempotency_key: `span-${randomUUID()}` });
    expect(AgentSpanResponseSchema.parse(created).details.id).toBe(id);
    const finished = await race(`/agent_spans/${id}/finish`, { result_payload: { tokens: 1 }, idempotency_key: `finish-${randomUUID()}` });
    expect(AgentSpanResponseSchema.parse(finished).details.status).toBe("complete");
    expect(await ctx.db.prisma.span.count({ where: { accountId: ctx.accountId, agentInstanceId: instance.id } })).toBe(1);
    figures.push(`span create with its id, then finish, ×${SAME_KEY} each, one key each: 1 span`);
  });

  it("instance start: one transition, identical answers", async () => {
    const registered = await api(ctx)
      .post("/agent_instance/register", { agent_version: { name: "idem-start", external_identifier: "1" }, agent_schema_version: seedSchemaVersion })
      .expect(200);
    const id = registered.body.details.id as string;
    const body = await race(`/agent_instance/${id}/start`, { idempotency_key: `start-${randomUUID()}` });
    expect(AgentInstanceResponseSchema.parse(body).details.status).toBe("active");
    figures.push(`instance start ×${SAME_KEY}, one key: 1 transition`);
  });

  it("bulk: each item's effect once, identical answers", async () => {
    const instance = await startedInstance(ctx, { agent_version: { name: "idem-bulk", external_identifier: "1" } });
    const tag = randomUUID();
    const items = [0, 1, 2].map((n) => ({
      _type: "agent_spans/create",
      idempotency_key: `bulk-${n}-${tag}`,
      details: { agent_instance_id: instance.id, schema_name: "llm", status: "complete", payload: { model: "m" }, result_payload: { tokens: n } },
    }));
    const answers = await times(SAME_KEY, () => api(ctx).post("/bulk", { items }));
    expect(statusCounts(answers)).toEqual({ 200: SAME_KEY });
    expect(new Set(answers.map((r) => r.text)).size).toBe(1);
    for (const out of Object.values(answers[0]!.body.outputs as Record<string, { status: string }>)) expect(out.status).toBe("success");
    expect(await ctx.db.prisma.span.count({ where: { accountId: ctx.accountId, agentInstanceId: instance.id } })).toBe(3);
    figures.push(`bulk of 3 items ×${SAME_KEY}: 3 spans`);
  });

  it("different keys, one new agent name: one agent (find-or-create)", async () => {
    const name = `fresh-${randomUUID()}`;
    const answers = await times(SAME_KEY, (i) =>
      api(ctx).post("/agent_instance/register", { agent_version: { name, external_identifier: "1" }, agent_schema_version: seedSchemaVersion, idempotency_key: `fresh-${i}-${name}` }),
    );
    expect(statusCounts(answers), JSON.stringify(answers.find((r) => r.status !== 200)?.body)).toEqual({ 200: SAME_KEY });
    expect(await ctx.db.prisma.agent.count({ where: { accountId: ctx.accountId, name } })).toBe(1);
    expect(new Set(answers.map((r) => r.body.details.id)).size).toBe(SAME_KEY);
    expect(new Set(answers.map((r) => r.body.details.agent_version_id)).size).toBe(1);
    figures.push(`register ×${SAME_KEY}, different keys, one new agent name: 1 agent, 1 version, ${SAME_KEY} instances`);
  });

  it("AgentVista: the same batch at once, and batches naming one new agent: one trace per id, one agent", async () => {
    const agent = `av-fresh-${randomUUID()}`;
    const same = traceItem({ agent, spans: 3 });
    const distinct = Array.from({ length: SAME_KEY }, () => traceItem({ agent, spans: 2 }));
    const answers = await Promise.all([
      ...Array.from({ length: SAME_KEY }, () => ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [same] })),
      ...distinct.map((t) => ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [t] })),
    ]);
    for (const res of answers) expect(res.body, JSON.stringify(res.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const agents = await ctx.db.prisma.agent.findMany({ where: { accountId: ctx.accountId, name: agent } });
    expect(agents).toHaveLength(1);
    expect(await ctx.db.prisma.span.count({ where: { accountId: ctx.accountId, agentInstanceId: same.trace.trace_id as string } })).toBe(3);
    expect(await ctx.db.prisma.agentInstance.count({ where: { accountId: ctx.accountId, agentId: agents[0]!.id } })).toBe(SAME_KEY + 1);
    figures.push(`AgentVista: one batch ×${SAME_KEY} + ${SAME_KEY} batches naming one new agent: 1 agent, ${SAME_KEY + 1} traces`);
  });
});

describe("two AgentVista batches racing on one trace", () => {
  it(`${RACES} races (one running batch, one completed, different spans): the union once, summed totals, the terminal status`, async () => {
    for (let race = 0; race < RACES; race++) {
      const traceId = randomUUID();
      const startedAt = new Date(Date.now() - 60_000);
      const running = traceItem({ traceId, agent: "racing", status: "running", startedAt, spans: 3 });
      const completed = traceItem({ traceId, agent: "racing", status: "completed", startedAt, spans: 2 + (race % 3) });
      const send = (item: ReturnType<typeof traceItem>) => ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [item] });
      const answers = race % 2 ? await Promise.all([send(running), send(completed)]) : await Promise.all([send(completed), send(running)]);
      for (const res of answers) expect(res.body, JSON.stringify(res.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });

      const trace = AvTraceDetailSchema.parse((await ctx.http().get(`/api/v1/dashboard/traces/${traceId}`).set(bearer(ctx.token)).expect(200)).body);
      const sent = [...running.spans, ...completed.spans].map((s) => s.span_id).sort();
      expect(trace.spans.map((s) => s.span_id).sort()).toEqual(sent);
      expect(trace.status).toBe("completed");
      const llm = trace.spans.filter((s) => s.type === "llm");
      expect(trace.total_tokens).toBe(llm.reduce((n, s) => n + (s.total_tokens ?? 0), 0));
      expect(trace.total_tokens).toBe(sent.length * 120);
      expect(trace.total_cost_usd).toBe((sent.length * 0.001).toFixed(6));
    }
    figures.push(`${RACES} races of a running and a completed batch on one trace: consistent`);
  });

  it("prints the figures", () => {
    console.log(`concurrency (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}): ${figures.join("; ")}`);
  });
});
