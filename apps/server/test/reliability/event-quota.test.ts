/**
 * EVENT_LIMIT_MONTHLY holds on every way spans come in (Prefactor span creates, /bulk, AgentVista
 * batches): over it, 429 in the dialect's envelope with Retry-After until the month rolls over,
 * and nothing more is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { secondsUntilNextMonth } from "../../src/domain/usage/quota.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { api, startedInstance } from "../helpers/prefactor.js";

const LIMIT = 2;
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ EVENT_LIMIT_MONTHLY: String(LIMIT) });
});
afterAll(async () => {
  await ctx?.close();
});

const spansOf = (accountId: string) => ctx.db.prisma.span.count({ where: { accountId } });
const counted = async (accountId: string) =>
  Number((await ctx.db.prisma.usageCounter.findUnique({ where: { accountId_month: { accountId, month: new Date().toISOString().slice(0, 7) } } }))?.events ?? 0);
const spanBody = (run: string, extra: Record<string, unknown> = {}) => ({ details: { agent_instance_id: run, schema_name: "llm", status: "active", payload: {} }, ...extra });

function expectQuota429(res: { status: number; headers: Record<string, string>; body: unknown }) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  const retryAfter = Number(res.headers["retry-after"]);
  const expected = secondsUntilNextMonth(new Date());
  expect(retryAfter).toBeGreaterThan(0);
  expect(Math.abs(retryAfter - expected)).toBeLessThanOrEqual(60);
}

describe(`monthly event limit of ${LIMIT}`, () => {
  it("holds for Prefactor span creates; finishing and replaying are not new events", async () => {
    const account = await ctx.newAccount("quota-spans");
    const run = await startedInstance(ctx, {}, account.token);
    const a = api(ctx, account.token);
    const first = await a.post("/agent_spans", spanBody(run.id, { idempotency_key: "quota-span-1" })).expect(200);
    await a.post("/agent_spans", spanBody(run.id)).expect(200);
    const over = await a.post("/agent_spans", spanBody(run.id));
    expectQuota429(over);
    expect(ErrorEnvelopeSchema.parse(over.body)).toEqual({ status: "error", code: "rate_limited", message: "Monthly event limit exceeded." });
    // Many more: none stored.
    for (let i = 0; i < 10; i++) expect((await a.post("/agent_spans", spanBody(run.id))).status).toBe(429);
    expect(await spansOf(account.accountId)).toBe(LIMIT);
    // A retry of a stored create replays; a finish is the same event.
    const again = await a.post("/agent_spans", spanBody(run.id, { idempotency_key: "quota-span-1" })).expect(200);
    expect(again.text).toBe(first.text);
    await a.post(`/agent_spans/${first.body.details.id}/finish`, {}).expect(200);
  });

  it("holds for /bulk: over it the request is refused as a whole, and the items before were stored", async () => {
    const account = await ctx.newAccount("quota-bulk");
    const run = await startedInstance(ctx, {}, account.token);
    const a = api(ctx, account.token);
    const items = Array.from({ length: 100 }, (_, i) => ({ _type: "agent_spans/create", idempotency_key: `quota-bulk-${i}`, ...spanBody(run.id) }));
    const res = await a.post("/bulk", { items });
    expectQuota429(res);
    expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("rate_limited");
    expect(await spansOf(account.accountId)).toBe(LIMIT);
    expect(await counted(account.accountId)).toBe(LIMIT);
    // Retried: the stored items replay, the next one is still over the limit.
    expectQuota429(await a.post("/bulk", { items }));
    expect(await spansOf(account.accountId)).toBe(LIMIT);
    const stored = await a.post("/bulk", { items: items.slice(0, LIMIT) }).expect(200);
    expect(Object.keys(stored.body.outputs)).toEqual(items.slice(0, LIMIT).map((i) => i.idempotency_key));
  });

  it("is one count across the dialects: AgentVista batches after Prefactor spans get 429 with Retry-After", async () => {
    const account = await ctx.newAccount("quota-mixed");
    const run = await startedInstance(ctx, {}, account.token);
    await api(ctx, account.token).post("/agent_spans", spanBody(run.id)).expect(200);
    const batch = await ctx.http().post("/api/v1/traces/batch").set(bearer(account.token)).send({ traces: [traceItem({ spans: 2 })] });
    expectQuota429(batch);
    expect(AvErrorSchema.parse(batch.body)).toEqual({ detail: "Monthly event limit exceeded." });
    await ctx.http().post("/api/v1/traces/batch").set(bearer(account.token)).send({ traces: [traceItem({ spans: 1 })] }).expect(200);
    expect(await spansOf(account.accountId)).toBe(LIMIT);
    expectQuota429(await api(ctx, account.token).post("/agent_spans", spanBody(run.id)));
  });

  it("counts only what was stored: a refused span gives its event back", async () => {
    const account = await ctx.newAccount("quota-refused");
    const run = await startedInstance(ctx, {}, account.token);
    const a = api(ctx, account.token);
    // A parent that does not exist: refused, not counted.
    for (let i = 0; i < 3; i++) await a.post("/agent_spans", { details: { ...spanBody(run.id).details, parent_span_id: "0".repeat(32) } }).expect(400);
    await a.post("/agent_spans", spanBody(run.id)).expect(200);
    await a.post("/agent_spans", spanBody(run.id)).expect(200);
    expect(await spansOf(account.accountId)).toBe(LIMIT);
    expect(await counted(account.accountId)).toBe(LIMIT);
  });
});
