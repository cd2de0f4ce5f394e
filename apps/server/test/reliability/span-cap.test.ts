/**
 * A run holds at most MAX_SPANS_PER_RUN (25,000) spans, in both dialects (issue 19 item 7): past
 * it, an AgentVista batch rejects that trace (per-trace error, others stored), and Prefactor span
 * creates, single or in /bulk, answer 409 invalid_action. The runs are filled to just under the
 * cap directly in the database: 25,000 requests would only slow the test down.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvTraceBatchResponseSchema, BulkResponseSchema, ErrorEnvelopeSchema, MAX_SPANS_PER_RUN } from "@spyglass/contracts";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0" });
});
afterAll(async () => {
  await ctx?.close();
});

/** Adds `count` spans to a run straight in the database. */
async function fill(runId: string, count: number) {
  await ctx.db.sql.query(
    `INSERT INTO spans (account_id, id, agent_instance_id, agent_id, schema_name, status, payload, started_at, updated_at)
     SELECT i.account_id, $2 || '-' || g, i.id, i.agent_id, 'custom', 'complete', '{}'::jsonb, now(), now()
     FROM agent_instances i, generate_series(1, $3::int) g WHERE i.account_id = $1 AND i.id = $4`,
    [ctx.accountId, randomUUID(), count, runId],
  );
}

const spanCount = async (runId: string) => ctx.db.prisma.span.count({ where: { agentInstanceId: runId } });

describe("spans per run", () => {
  it("AgentVista: a batch taking a trace past the cap rejects that trace only", async () => {
    const full = traceItem({ agent: "capped", status: "running", spans: 1 });
    const traceId = full.trace.trace_id as string;
    expect((await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [full] }).expect(200)).body.accepted).toBe(1);
    await fill(traceId, MAX_SPANS_PER_RUN - 3);

    // Two new spans fit (25,000 in all); resending stored ones adds nothing.
    const fits = traceItem({ agent: "capped", status: "running", traceId, spans: 2 });
    fits.spans.push(full.spans[0]!);
    const ok = AvTraceBatchResponseSchema.parse((await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [fits] }).expect(200)).body);
    expect(ok).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await spanCount(traceId)).toBe(MAX_SPANS_PER_RUN);

    const over = traceItem({ agent: "capped", status: "running", traceId, spans: 1 });
    const other = traceItem({ agent: "capped", spans: 3 });
    const res = AvTraceBatchResponseSchema.parse(
      (await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [over, other] }).expect(200)).body,
    );
    expect(res).toMatchObject({ accepted: 1, rejected: 1 });
    expect(res.errors).toEqual([{ index: 0, trace_id: traceId, message: `a trace holds at most ${MAX_SPANS_PER_RUN} spans; this one would hold ${MAX_SPANS_PER_RUN + 1}` }]);
    expect(await spanCount(traceId)).toBe(MAX_SPANS_PER_RUN);
    expect(await spanCount(other.trace.trace_id as string)).toBe(3);
  });

  it("Prefactor: span create and /bulk create past the cap answer 409, nothing stored", async () => {
    const a = api(ctx);
    const inst = await startedInstance(ctx);
    await fill(inst.id, MAX_SPANS_PER_RUN - 1);
    const create = (details: Record<string, unknown> = {}) => ({ details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: { model: "m" }, ...details } });
    await a.post("/agent_spans", create()).expect(200);
    expect(await spanCount(inst.id)).toBe(MAX_SPANS_PER_RUN);

    const refused = await a.post("/agent_spans", create());
    expect(refused.status).toBe(409);
    expect(ErrorEnvelopeSchema.parse(refused.body)).toMatchObject({ code: "invalid_action", message: expect.stringContaining(`${MAX_SPANS_PER_RUN} spans`) });
    const keyed = await a.post("/agent_spans", { ...create(), idempotency_key: "cap-key" });
    expect(keyed.status).toBe(409);

    const bulk = BulkResponseSchema.parse((await a.post("/bulk", { items: [{ _type: "agent_spans/create", idempotency_key: "cap-bulk", ...create() }] }).expect(200)).body);
    expect(bulk.outputs["cap-bulk"]).toMatchObject({ status: "error", code: "invalid_action" });
    expect(await spanCount(inst.id)).toBe(MAX_SPANS_PER_RUN);
  });
});
