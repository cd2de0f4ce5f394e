import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, AvTraceBatchResponseSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avError, bearer, traceItem } from "../helpers/agentvista.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ EVENT_LIMIT_MONTHLY: "5" });
});
afterAll(async () => {
  await ctx?.close();
});

const ingest = (traces: unknown[], token = ctx.token) => ctx.http().post("/api/v1/traces/batch").set(bearer(token)).send({ traces });
const month = () => new Date().toISOString().slice(0, 7);
const used = async (accountId = ctx.accountId) =>
  Number((await ctx.db.prisma.usageCounter.findUnique({ where: { accountId_month: { accountId, month: month() } } }))?.events ?? 0);

describe("monthly event limit", () => {
  it("counts stored spans and refuses a batch that would pass the limit with 429, writing nothing", async () => {
    const first = await ingest([traceItem({ agent: "metered", spans: 3 })]);
    expect(AvTraceBatchResponseSchema.parse(first.body).accepted).toBe(1);
    expect(await used()).toBe(3);

    const spansBefore = await ctx.db.prisma.span.count();
    const instancesBefore = await ctx.db.prisma.agentInstance.count();
    const over = await ingest([traceItem({ agent: "metered-new", spans: 1 }), traceItem({ agent: "metered", spans: 2 })]);
    expect(over.status).toBe(429);
    expect(AvErrorSchema.parse(over.body)).toEqual({ detail: "Monthly event limit exceeded." });
    expect(await ctx.db.prisma.span.count()).toBe(spansBefore);
    expect(await ctx.db.prisma.agentInstance.count()).toBe(instancesBefore);
    expect(await ctx.db.prisma.agent.count({ where: { name: "metered-new" } })).toBe(0);
    expect(await used()).toBe(3);

    // Rejected traces do not count.
    const bad = traceItem({ agent: "metered", spans: 1 });
    bad.spans[0]!.trace_id = "00000000-0000-4000-8000-000000000000";
    const mixed = await ingest([traceItem({ agent: "metered", spans: 2 }), bad]);
    expect(AvTraceBatchResponseSchema.parse(mixed.body)).toMatchObject({ accepted: 1, rejected: 1 });
    expect(await used()).toBe(5);

    const full = await ingest([traceItem({ agent: "metered", spans: 1 })]);
    avError(full, 429);
    // A trace without spans carries no events.
    const headerOnly = await ingest([{ ...traceItem({ agent: "metered" }), spans: [] }]);
    expect(AvTraceBatchResponseSchema.parse(headerOnly.body).accepted).toBe(1);
  });

  it("is per account, and concurrent batches cannot pass it together", async () => {
    const other = await ctx.newAccount("metered-2");
    const results = await Promise.all(Array.from({ length: 6 }, () => ingest([traceItem({ agent: "racer", spans: 2 })], other.token)));
    const accepted = results.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(2);
    expect(results.filter((r) => r.status === 429)).toHaveLength(4);
    expect(await used(other.accountId)).toBe(4);
    expect(await ctx.db.prisma.span.count({ where: { accountId: other.accountId } })).toBe(4);
  });
});
