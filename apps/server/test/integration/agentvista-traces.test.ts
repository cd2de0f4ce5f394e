import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AvErrorSchema,
  AvOutcomeResponseSchema,
  AvSpanSchema,
  AvTraceBatchResponseSchema,
  AvTraceDetailSchema,
  AvTraceListResponseSchema,
} from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avError, avKey, bearer, SEED_BATCH, traceItem } from "../helpers/agentvista.js";

let ctx: TestContext;
let writeKey: string;
let readKey: string;
beforeAll(async () => {
  ctx = await createTestContext();
  writeKey = await avKey(ctx, ["write"]);
  readKey = await avKey(ctx, ["read"]);
});
afterAll(async () => {
  await ctx?.close();
});

const ingest = (body: unknown, token = ctx.token) =>
  ctx.http().post("/api/v1/traces/batch").set(bearer(token)).set("Content-Type", "application/json").send(body as object);

async function ingestOk(body: unknown) {
  const res = await ingest(body);
  expect(res.status).toBe(200);
  return AvTraceBatchResponseSchema.parse(res.body);
}

async function detail(traceId: string, token = ctx.token) {
  const res = await ctx.http().get(`/api/v1/dashboard/traces/${traceId}`).set(bearer(token));
  expect(res.status).toBe(200);
  return AvTraceDetailSchema.parse(res.body);
}

const counts = async () => ({
  instances: await ctx.db.prisma.agentInstance.count(),
  spans: await ctx.db.prisma.span.count(),
  agents: await ctx.db.prisma.agent.count(),
});

describe("POST /traces/batch", () => {
  it("accepts the documented example verbatim, and a resend changes nothing", async () => {
    const res = await ingest(SEED_BATCH, writeKey);
    expect(res.status).toBe(200);
    expect(AvTraceBatchResponseSchema.parse(res.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });

    const before = await detail(SEED_BATCH.traces[0]!.trace.trace_id);
    expect(before).toMatchObject({
      trace_id: "550e8400-e29b-41d4-a716-446655440000",
      agent_name: "lead-qualifier",
      status: "completed",
      started_at: "2024-01-15T10:00:00.000Z",
      ended_at: "2024-01-15T10:00:02.000Z",
      duration_ms: 2000,
      success: true,
      outcome: "qualified",
      total_tokens: 1500,
      total_cost_usd: "0.004500",
    });
    expect(before.spans).toHaveLength(1);
    expect(before.spans[0]).toMatchObject({ type: "llm", model: "gpt-4o", total_tokens: 920, cost_usd: "0.003200", status: "completed" });
    const rowsBefore = await counts();

    const again = await ingest(SEED_BATCH, writeKey);
    expect(AvTraceBatchResponseSchema.parse(again.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });
    expect(await detail(SEED_BATCH.traces[0]!.trace.trace_id)).toEqual(before);
    expect(await counts()).toEqual(rowsBefore);

    // An operator's verdict survives a resend of the original batch.
    const traceId = SEED_BATCH.traces[0]!.trace.trace_id;
    await ctx.http().patch(`/api/v1/dashboard/traces/${traceId}/outcome`).set(bearer(writeKey)).send({ success: false, outcome: "disqualified" }).expect(200);
    await ingest(SEED_BATCH, writeKey);
    expect(await detail(traceId)).toMatchObject({ success: false, outcome: "disqualified" });
    await ctx.http().patch(`/api/v1/dashboard/traces/${traceId}/outcome`).set(bearer(writeKey)).send({ success: true, outcome: "qualified" }).expect(200);
  });

  it("fills the columns the Prefactor dialect reads", async () => {
    const instance = await ctx.db.prisma.agentInstance.findUniqueOrThrow({
      where: { accountId_id: { accountId: ctx.accountId, id: "550e8400-e29b-41d4-a716-446655440000" } },
    });
    const agent = await ctx.db.prisma.agent.findFirstOrThrow({ where: { accountId: ctx.accountId, name: "lead-qualifier" } });
    const env = await ctx.db.prisma.environment.findFirstOrThrow({ where: { accountId: ctx.accountId, isDefault: true } });
    expect(instance).toMatchObject({
      agentId: agent.id,
      environmentId: env.id,
      status: "complete",
      terminationReason: null,
      tokensExplicit: true,
      costExplicit: true,
      totalTokens: 1500n,
    });
    expect(instance.startedAt?.toISOString()).toBe("2024-01-15T10:00:00.000Z");
    expect(instance.finishedAt?.toISOString()).toBe("2024-01-15T10:00:02.000Z");
    expect(instance.totalCostUsd?.toFixed(6)).toBe("0.004500");
    const span = await ctx.db.prisma.span.findUniqueOrThrow({
      where: { accountId_id: { accountId: ctx.accountId, id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8" } },
    });
    expect(span).toMatchObject({
      agentInstanceId: instance.id,
      agentId: agent.id,
      schemaName: "llm",
      name: "gpt-4o classify",
      status: "complete",
      payload: {},
      resultPayload: null,
      inputTokens: 800,
      outputTokens: 120,
      totalTokens: 920,
      durationMs: 1700n,
    });
    expect(span.finishedAt?.toISOString()).toBe("2024-01-15T10:00:01.800Z");
  });

  it("derives what is absent: span totals, trace totals from llm spans, durations, custom types, wrapped inputs", async () => {
    const traceId = randomUUID();
    const t0 = new Date("2024-03-01T12:00:00Z");
    const span = (type: string, extra: Record<string, unknown>) => ({
      span_id: randomUUID(),
      trace_id: traceId,
      type,
      name: `${type} step`,
      status: "completed",
      started_at: t0.toISOString(),
      ended_at: new Date(t0.getTime() + 250).toISOString(),
      ...extra,
    });
    const body = {
      traces: [
        {
          trace: { trace_id: traceId.toUpperCase(), agent_name: "deriver", started_at: "2024-03-01T12:00:00", ended_at: "2024-03-01T12:00:03.5Z" },
          spans: [
            span("llm", { input_tokens: 10, output_tokens: 5, cost_usd: 0.1, input: "hello", output: { answer: 42 } }),
            span("llm", { input_tokens: 7, cost_usd: "0.0000005", input: [1, 2] }),
            span("tool", { total_tokens: 1000, cost_usd: "9.000000" }),
            span("vector-search", { metadata: { k: 3 } }),
          ],
        },
      ],
    };
    expect(await ingestOk(body)).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const d = await detail(traceId);
    expect(d).toMatchObject({ agent_name: "deriver", status: "completed", duration_ms: 3500, total_tokens: 22, total_cost_usd: "0.100001" });
    const byType = (type: string) => d.spans.filter((s) => s.type === type);
    const [first, second] = byType("llm").sort((a, b) => (a.input_tokens ?? 0) - (b.input_tokens ?? 0)).reverse();
    expect(first).toMatchObject({ total_tokens: 15, cost_usd: "0.100000", input: { value: "hello" }, output: { answer: 42 }, duration_ms: 250 });
    expect(second).toMatchObject({ total_tokens: 7, cost_usd: "0.000001", input: { value: [1, 2] }, output: null });
    expect(byType("custom")).toHaveLength(1);
    expect(byType("custom")[0]).toMatchObject({ name: "vector-search step", metadata: { k: 3 } });
    const instance = await ctx.db.prisma.agentInstance.findFirstOrThrow({ where: { accountId: ctx.accountId, id: traceId } });
    expect(instance).toMatchObject({ tokensExplicit: false, costExplicit: false });
  });

  it("moves a repeated trace forward only", async () => {
    const traceId = randomUUID();
    const spanA = randomUUID();
    const spanB = randomUUID();
    const started = "2024-04-01T08:00:00Z";
    const header = (status: string, extra: Record<string, unknown> = {}) => ({ trace_id: traceId, agent: "forward", status, started_at: started, ...extra });
    const s = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
      span_id: id,
      trace_id: traceId,
      type: "tool",
      name: "step",
      status,
      started_at: started,
      ...extra,
    });

    await ingestOk({ traces: [{ trace: header("running"), spans: [s(spanA, "running", { input: { q: 1 } }), s(spanB, "completed", { output: { r: 1 } })] }] });
    let d = await detail(traceId);
    expect(d.status).toBe("running");
    expect(d.ended_at).toBeNull();

    // running -> completed; the running span finishes (keeping its input), the finished one stays as it was
    await ingestOk({
      traces: [
        {
          trace: header("completed", { ended_at: "2024-04-01T08:00:05Z", success: true }),
          spans: [
            s(spanA, "completed", { ended_at: "2024-04-01T08:00:04Z", output: { done: true } }),
            s(spanB, "failed", { error_message: "late", output: { r: 2 } }),
          ],
        },
      ],
    });
    d = await detail(traceId);
    expect(d).toMatchObject({ status: "completed", ended_at: "2024-04-01T08:00:05.000Z", duration_ms: 5000, success: true });
    const a = d.spans.find((x) => x.span_id === spanA)!;
    const b = d.spans.find((x) => x.span_id === spanB)!;
    expect(a).toMatchObject({ status: "completed", input: { q: 1 }, output: { done: true }, duration_ms: 4000 });
    expect(b).toMatchObject({ status: "completed", output: { r: 1 }, error_message: null });

    // a late "running" report does not reopen the trace or its spans
    await ingestOk({ traces: [{ trace: header("running"), spans: [s(spanA, "running")] }] });
    const after = await detail(traceId);
    expect(after).toMatchObject({ status: "completed", ended_at: "2024-04-01T08:00:05.000Z", duration_ms: 5000, success: true });
    expect(after.spans.find((x) => x.span_id === spanA)).toEqual(a);

    // terminal -> another terminal is a correction, and is applied
    await ingestOk({ traces: [{ trace: header("failed", { error_message: "boom", ended_at: "2024-04-01T08:00:06Z" }) }] });
    expect(await detail(traceId)).toMatchObject({ status: "failed", error_message: "boom", duration_ms: 6000, success: true });
  });

  it("accepts a good trace and rejects a bad one in the same batch, with its id and reason", async () => {
    const good = traceItem({ agent: "mixed" });
    const bad = traceItem({ agent: "mixed" });
    (bad.trace as Record<string, unknown>).started_at = "yesterday";
    const wrongSpan = traceItem({ agent: "mixed" });
    wrongSpan.spans[0]!.trace_id = randomUUID();
    const body = await ingestOk({ traces: [good, bad, wrongSpan, { trace: { agent: "x" } }] });
    expect(body.accepted).toBe(1);
    expect(body.rejected).toBe(3);
    expect(body.errors.map((e) => [e.index, e.trace_id])).toEqual([
      [1, bad.trace.trace_id],
      [2, wrongSpan.trace.trace_id],
      [3, null],
    ]);
    expect(body.errors[0]!.message).toMatch(/started_at/);
    expect(body.errors[1]!.message).toMatch(/trace_id does not match/);
    expect(body.errors[2]!.message).toMatch(/trace\.trace_id/);
    await detail(good.trace.trace_id as string);
    const missing = await ctx.http().get(`/api/v1/dashboard/traces/${bad.trace.trace_id}`).set(bearer(ctx.token)).expect(404);
    AvErrorSchema.parse(missing.body);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: wrongSpan.trace.trace_id as string } })).toBe(0);
  });

  it("rejects a trace that reuses another trace's span id or another agent's trace id", async () => {
    const first = traceItem({ agent: "owner" });
    await ingestOk({ traces: [first] });
    const thief = traceItem({ agent: "owner" });
    thief.spans[0]!.span_id = first.spans[0]!.span_id;
    const sameBatchA = traceItem({ agent: "owner" });
    const sameBatchB = traceItem({ agent: "owner" });
    sameBatchB.spans[0]!.span_id = sameBatchA.spans[0]!.span_id;
    const otherAgent = traceItem({ agent: "someone-else", traceId: first.trace.trace_id as string });
    otherAgent.spans = [];
    const body = await ingestOk({ traces: [thief, sameBatchA, sameBatchB, otherAgent] });
    expect(body.accepted).toBe(1);
    expect(body.errors.map((e) => [e.index, e.message])).toEqual([
      [0, `span ${first.spans[0]!.span_id} belongs to another trace`],
      [2, `span ${sameBatchA.spans[0]!.span_id} belongs to another trace`],
      [3, `trace ${first.trace.trace_id} already exists for another agent`],
    ]);
    expect((await detail(first.trace.trace_id as string)).agent_name).toBe("owner");
  });

  it("refuses more than 100 spans in total with 400 and writes nothing", async () => {
    const before = await counts();
    const res = await ingest({ traces: [traceItem({ agent: "too-many", spans: 60 }), traceItem({ agent: "too-many", spans: 41 })] });
    expect(res.status).toBe(400);
    expect(AvErrorSchema.parse(res.body).detail).toMatch(/100 spans/);
    expect(await counts()).toEqual(before);
    const ok = await ingestOk({ traces: [traceItem({ agent: "just-enough", spans: 60 }), traceItem({ agent: "just-enough", spans: 40 })] });
    expect(ok.accepted).toBe(2);
  });

  it("answers malformed JSON, a missing body and a wrong shape with 400", async () => {
    const malformed = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).set("Content-Type", "application/json").send('{"traces": [');
    expect(malformed.status).toBe(400);
    expect(AvErrorSchema.parse(malformed.body).detail).toMatch(/malformed JSON/);
    const none = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token));
    expect(none.status).toBe(400);
    AvErrorSchema.parse(none.body);
    const shape = await ingest({ traces: "nope" });
    expect(shape.status).toBe(400);
    expect(AvErrorSchema.parse(shape.body).errors?.[0]?.path).toBe("traces");
    // PostgreSQL cannot store U+0000: the shared body parser replaces it with U+FFFD (documented).
    const nul = traceItem({ agent: "nul" });
    nul.spans[0]!.name = "bad\u0000name";
    expect(await ingestOk({ traces: [nul] })).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const stored = await ctx.db.prisma.span.findFirstOrThrow({ where: { accountId: ctx.accountId, id: nul.spans[0]!.span_id } });
    expect(stored.name).toBe("bad\ufffdname");
  });

  it("never answers 500 for what PostgreSQL cannot store", async () => {
    const deep = traceItem({ agent: "hostile" });
    (deep.spans[0] as Record<string, unknown>).input = { nested: "DEEP" };
    // Written by hand: JSON.stringify itself cannot nest this deep in a test worker.
    const text = JSON.stringify({ traces: [deep] }).replace('"DEEP"', `${"[".repeat(20_000)}1${"]".repeat(20_000)}`);
    const tooDeep = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).set("Content-Type", "application/json").send(text);
    expect(tooDeep.status).toBe(400);
    expect(AvErrorSchema.parse(tooDeep.body).detail).toMatch(/deeper/);
    expect(await ctx.db.prisma.agentInstance.count({ where: { accountId: ctx.accountId, id: String(deep.trace.trace_id) } })).toBe(0);

    const surrogate = traceItem({ agent: "hostile" });
    (surrogate.spans[0] as Record<string, unknown>).output = { text: "half \ud800 a pair" };
    const fine = traceItem({ agent: "hostile" });
    expect(await ingestOk({ traces: [surrogate, fine] })).toEqual({ accepted: 2, rejected: 0, errors: [] });
    const stored = await ctx.db.prisma.span.findFirstOrThrow({ where: { accountId: ctx.accountId, id: surrogate.spans[0]!.span_id } });
    expect(stored.resultPayload).toEqual({ text: "half \ufffd a pair" });

    const query = await ctx.http().get("/api/v1/dashboard/traces").query({ agent: "a\u0000b" }).set(bearer(readKey));
    expect(query.status).toBe(400);
    AvErrorSchema.parse(query.body);
    const path = await ctx.http().get("/api/v1/dashboard/traces/abc%00def").set(bearer(readKey));
    avError(path, 400);
    const patch = await ctx.http().patch(`/api/v1/dashboard/traces/${fine.trace.trace_id}/outcome`).set(bearer(writeKey)).send({ success: true, outcome: "x\u0000" });
    expect(patch.status).toBe(200);
    expect(patch.body.outcome).toBe("x\ufffd");
  });

  it("takes the batch path with a trailing slash too", async () => {
    const res = await ctx.http().post("/api/v1/traces/batch/").set(bearer(writeKey)).send({ traces: [traceItem({ agent: "slash" })] });
    expect(AvTraceBatchResponseSchema.parse(res.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });
  });

  it("needs a key with the write scope to ingest (401 without, 403 read-only)", async () => {
    const none = await ctx.http().post("/api/v1/traces/batch").send(SEED_BATCH);
    expect(none.status).toBe(401);
    AvErrorSchema.parse(none.body);
    const invalid = await ingest(SEED_BATCH, `av_${"0".repeat(64)}`);
    avError(invalid, 401);
    const readOnly = await ingest(SEED_BATCH, readKey);
    expect(readOnly.status).toBe(403);
    expect(AvErrorSchema.parse(readOnly.body).detail).toMatch(/write/);
  });

  it("lets an agent_deployment token write and label runs of its own agent only", async () => {
    const auth = await ctx.services.accounts.authenticate(ctx.token);
    const agent = await ctx.services.catalog.findOrCreateAgentByName(auth, "deployed");
    const { secret } = await ctx.services.accounts.issueToken({
      secretPrefix: "sg_",
      accountId: ctx.accountId,
      scopes: ["read", "write"],
      tokenScope: "agent_deployment",
      agentId: agent.id,
    });
    const mine = traceItem({ agent: "deployed" });
    const foreign = traceItem({ agent: "not-deployed" });
    const res = await ingest({ traces: [mine, foreign] }, secret);
    const body = AvTraceBatchResponseSchema.parse(res.body);
    expect(body.accepted).toBe(1);
    expect(body.errors).toEqual([{ index: 1, trace_id: foreign.trace.trace_id, message: "this token may only write runs of agent deployed" }]);
    expect(await ctx.db.prisma.agent.count({ where: { name: "not-deployed" } })).toBe(0);
    const own = await ctx.http().patch(`/api/v1/dashboard/traces/${mine.trace.trace_id}/outcome`).set(bearer(secret)).send({ success: true });
    expect(own.status).toBe(200);
    const other = await ctx.http().patch(`/api/v1/dashboard/traces/${SEED_BATCH.traces[0]!.trace.trace_id}/outcome`).set(bearer(secret)).send({ success: false });
    expect(other.status).toBe(404);
    AvErrorSchema.parse(other.body);
  });

  it("ends consistent when concurrent batches race on one trace", async () => {
    const traceId = randomUUID();
    const startedAt = new Date("2024-05-01T00:00:00Z");
    const batches = Array.from({ length: 6 }, (_, i) => {
      const item = traceItem({ agent: "racer", traceId, startedAt, spans: 10, status: i === 5 ? "completed" : "running" });
      return { traces: [item] };
    });
    const results = await Promise.all(batches.map((b) => ingest(b, writeKey)));
    for (const r of results) expect(AvTraceBatchResponseSchema.parse(r.body)).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const d = await detail(traceId);
    expect(d.status).toBe("completed");
    expect(d.spans).toHaveLength(60);
    expect(d.total_tokens).toBe(60 * 120);
    expect(d.total_cost_usd).toBe("0.060000");
    expect(await ctx.db.prisma.agent.count({ where: { accountId: ctx.accountId, name: "racer" } })).toBe(1);
  });
});

describe("GET /dashboard/traces/{trace_id}", () => {
  it("returns every span in waterfall order (started_at, then span_id) with parent ids", async () => {
    const traceId = randomUUID();
    const at = (ms: number) => new Date(Date.parse("2024-06-01T00:00:00Z") + ms).toISOString();
    const root = randomUUID();
    const ids = ["00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"];
    const spans = [
      { span_id: ids[0], parent_span_id: root, started_at: at(50) },
      { span_id: randomUUID(), parent_span_id: ids[0], started_at: at(70) },
      { span_id: ids[1], parent_span_id: root, started_at: at(50) },
      { span_id: root, started_at: at(0) },
    ].map((s) => ({ trace_id: traceId, type: "agent", name: "s", status: "completed", ...s }));
    await ingestOk({ traces: [{ trace: { trace_id: traceId, agent: "waterfall", started_at: at(0) }, spans }] });
    const d = await detail(traceId);
    expect(d.spans.map((s) => s.span_id)).toEqual([root, ids[1], ids[0], spans[1]!.span_id]);
    expect(d.spans.map((s) => s.parent_span_id)).toEqual([null, root, root, ids[0]]);
    expect(d.spans.map((s) => s.started_at)).toEqual([at(0), at(50), at(50), at(70)]);
    const slash = await ctx.http().get(`/api/v1/dashboard/traces/${traceId}/`).set(bearer(readKey)).expect(200);
    expect(AvTraceDetailSchema.parse(slash.body)).toEqual(d);
    const upper = await ctx.http().get(`/api/v1/dashboard/traces/${traceId.toUpperCase()}`).set(bearer(readKey)).expect(200);
    expect(AvTraceDetailSchema.parse(upper.body).trace_id).toBe(traceId);
  });

  it("pages spans with span_limit and span_cursor, counting them all", async () => {
    const item = traceItem({ agent: "pages", spans: 7 });
    // Two spans share a start, so the cursor must also carry the id.
    item.spans[4]!.started_at = item.spans[3]!.started_at;
    await ingestOk({ traces: [item] });
    const url = `/api/v1/dashboard/traces/${item.trace.trace_id}`;
    const all = AvTraceDetailSchema.parse((await ctx.http().get(url).set(bearer(readKey)).expect(200)).body);
    expect(all).toMatchObject({ span_count: 7, next_span_cursor: null });
    expect(all.spans).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await ctx.http().get(url).query({ span_limit: 3, ...(cursor ? { span_cursor: cursor } : {}) }).set(bearer(readKey)).expect(200);
      const page = AvTraceDetailSchema.parse(res.body);
      expect(page.span_count).toBe(7);
      expect(page.spans.length).toBeLessThanOrEqual(3);
      seen.push(...page.spans.map((s) => s.span_id));
      cursor = page.next_span_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.spans.map((s) => s.span_id));
  });

  it("summarises input, output and metadata over 8 KB, and serves the span whole on its own", async () => {
    const item = traceItem({ agent: "summaries", spans: 2 });
    const big = { text: "x".repeat(9000), quote: '"\\' };
    Object.assign(item.spans[0]!, { input: big, output: { small: 1 }, metadata: { ok: true } });
    Object.assign(item.spans[1]!, { output: { list: Array.from({ length: 3000 }, (_, i) => i) } });
    await ingestOk({ traces: [item] });
    const d = await detail(item.trace.trace_id as string);
    const [first, second] = d.spans;
    expect(first).toMatchObject({ truncated: true, output: { small: 1 }, metadata: { ok: true } });
    expect(first!.input).toMatchObject({ _truncated: true, size_bytes: expect.any(Number) });
    const marker = first!.input as { size_bytes: number; preview: string };
    expect(marker.size_bytes).toBeGreaterThan(9000);
    expect(marker.preview).toHaveLength(1024);
    expect(marker.preview.startsWith('{"text": "xxx')).toBe(true);
    expect(second).toMatchObject({ truncated: true, input: {} });
    expect(second!.output).toMatchObject({ _truncated: true });

    const whole = await ctx.http().get(`/api/v1/dashboard/traces/${item.trace.trace_id}/spans/${item.spans[0]!.span_id.toUpperCase()}/`).set(bearer(readKey)).expect(200);
    expect(AvSpanSchema.parse(whole.body)).toMatchObject({ span_id: item.spans[0]!.span_id, input: big, output: { small: 1 }, metadata: { ok: true } });
    expect(whole.body).not.toHaveProperty("truncated");
  });

  it("answers an unknown or foreign span 404, a bad cursor or span_limit 400", async () => {
    const item = traceItem({ agent: "span-404", spans: 1 });
    await ingestOk({ traces: [item] });
    const other = traceItem({ agent: "span-404", spans: 1 });
    await ingestOk({ traces: [other] });
    const stranger = await ctx.newAccount("span-stranger");
    const spanUrl = (t: unknown, s: unknown) => `/api/v1/dashboard/traces/${t}/spans/${s}`;
    avError(await ctx.http().get(spanUrl(item.trace.trace_id, randomUUID())).set(bearer(readKey)), 404);
    // A span of another trace of the same account is not this trace's.
    avError(await ctx.http().get(spanUrl(item.trace.trace_id, other.spans[0]!.span_id)).set(bearer(readKey)), 404);
    avError(await ctx.http().get(spanUrl(item.trace.trace_id, item.spans[0]!.span_id)).set(bearer(stranger.token)), 404);
    avError(await ctx.http().get(spanUrl(item.trace.trace_id, item.spans[0]!.span_id)).set(bearer(writeKey)), 403);
    const url = `/api/v1/dashboard/traces/${item.trace.trace_id}`;
    for (const query of [{ span_cursor: "nonsense" }, { span_cursor: Buffer.from("[1,2]").toString("base64url") }, { span_limit: 0 }, { span_limit: 5001 }, { span_limit: "x" }]) {
      avError(await ctx.http().get(url).query(query).set(bearer(readKey)), 400);
    }
    AvTraceDetailSchema.parse((await ctx.http().get(url).query({ span_limit: 5000 }).set(bearer(readKey)).expect(200)).body);
  });

  it("is 404 for another account's trace, for reading and for setting its outcome", async () => {
    const other = await ctx.newAccount("other-tenant");
    const res = await ctx.http().get(`/api/v1/dashboard/traces/${SEED_BATCH.traces[0]!.trace.trace_id}`).set(bearer(other.token));
    expect(res.status).toBe(404);
    AvErrorSchema.parse(res.body);
    const patch = await ctx
      .http()
      .patch(`/api/v1/dashboard/traces/${SEED_BATCH.traces[0]!.trace.trace_id}/outcome`)
      .set(bearer(other.token))
      .send({ success: false });
    avError(patch, 404);
    const list = AvTraceListResponseSchema.parse((await ctx.http().get("/api/v1/dashboard/traces").set(bearer(other.token)).expect(200)).body);
    expect(list.total).toBe(0);
    // The same trace id in another account is another trace.
    const theirs = await ingest(SEED_BATCH, other.token);
    expect(AvTraceBatchResponseSchema.parse(theirs.body).accepted).toBe(1);
    expect((await detail(SEED_BATCH.traces[0]!.trace.trace_id)).outcome).toBe("qualified");
  });

  it("needs the read scope", async () => {
    const res = await ctx.http().get(`/api/v1/dashboard/traces/${SEED_BATCH.traces[0]!.trace.trace_id}`).set(bearer(writeKey));
    expect(res.status).toBe(403);
    AvErrorSchema.parse(res.body);
    const list = await ctx.http().get("/api/v1/dashboard/traces/").set(bearer(writeKey));
    avError(list, 403);
  });
});

describe("large payloads", () => {
  it("are stored compressed (lz4 where the database has it) and read back intact", async () => {
    const item = traceItem();
    const text = Array.from({ length: 2000 }, (_, i) => `token ${i} ${"é→".repeat(i % 5)}`).join(" ");
    Object.assign(item.spans[0]!, { input: { prompt: text, list: Array.from({ length: 500 }, (_, i) => i) }, output: { answer: text.slice(0, 5000) } });
    expect((await ingestOk({ traces: [item] })).accepted).toBe(1);
    const span = await ctx.http().get(`/api/v1/dashboard/traces/${item.trace.trace_id}/spans/${item.spans[0]!.span_id}`).set(bearer(ctx.token)).expect(200);
    expect(AvSpanSchema.parse(span.body)).toMatchObject({ input: { prompt: text, list: Array.from({ length: 500 }, (_, i) => i) }, output: { answer: text.slice(0, 5000) } });

    const [settings] = await ctx.db.prisma.$queryRaw<{ offered: boolean }[]>`
      SELECT 'lz4' = ANY (enumvals) AS offered FROM pg_settings WHERE name = 'default_toast_compression'`;
    const [stored] = await ctx.db.prisma.$queryRaw<{ method: string | null }[]>`
      SELECT pg_column_compression(payload) AS method FROM spans WHERE id = ${item.spans[0]!.span_id}`;
    expect(stored?.method).toBe(settings?.offered ? "lz4" : "pglz");
  });
});

describe("PATCH /dashboard/traces/{trace_id}/outcome", () => {
  it("sets success and outcome; absent outcome keeps it, null clears it", async () => {
    const item = traceItem({ agent: "feedback", success: true, outcome: "qualified" });
    await ingestOk({ traces: [item] });
    const url = `/api/v1/dashboard/traces/${item.trace.trace_id}/outcome`;
    const set = await ctx.http().patch(url).set(bearer(writeKey)).send({ success: false, outcome: "escalated" }).expect(200);
    expect(AvOutcomeResponseSchema.parse(set.body)).toEqual({ trace_id: item.trace.trace_id, success: false, outcome: "escalated" });
    const keep = await ctx.http().patch(`${url}/`).set(bearer(writeKey)).send({ success: true }).expect(200);
    expect(AvOutcomeResponseSchema.parse(keep.body)).toEqual({ trace_id: item.trace.trace_id, success: true, outcome: "escalated" });
    const clear = await ctx.http().patch(url).set(bearer(writeKey)).send({ success: true, outcome: null }).expect(200);
    expect(AvOutcomeResponseSchema.parse(clear.body).outcome).toBeNull();
    expect(await detail(item.trace.trace_id as string)).toMatchObject({ success: true, outcome: null });

    const invalid = await ctx.http().patch(url).set(bearer(writeKey)).send({ outcome: "x" });
    expect(invalid.status).toBe(400);
    expect(AvErrorSchema.parse(invalid.body).errors?.[0]?.path).toBe("success");
    avError(await ctx.http().patch(url).set(bearer(readKey)).send({ success: true }), 403);
    avError(await ctx.http().patch(`/api/v1/dashboard/traces/${randomUUID()}/outcome`).set(bearer(writeKey)).send({ success: true }), 404);
  });
});

describe("GET /dashboard/traces", () => {
  let ids: Record<string, string>;
  beforeAll(async () => {
    const day = (d: number) => new Date(Date.parse("2025-02-01T00:00:00Z") + d * 86_400_000);
    const items = {
      ok1: traceItem({ agent: "lister-a", startedAt: day(0), durationMs: 100, success: true, outcome: "won" }),
      ok2: traceItem({ agent: "lister-a", startedAt: day(1), durationMs: 300, success: false, outcome: "lost" }),
      failed: traceItem({ agent: "lister-b", status: "failed", startedAt: day(2), durationMs: 200, extra: { error_message: "Rate LIMIT hit" } }),
      running: traceItem({ agent: "lister-b", status: "running", startedAt: day(3) }),
      timedOut: traceItem({ agent: "lister-b", status: "timed_out", startedAt: day(4), durationMs: 5000 }),
    };
    await ingestOk({ traces: Object.values(items) });
    ids = Object.fromEntries(Object.entries(items).map(([k, v]) => [k, v.trace.trace_id as string]));
  });

  const list = async (query: Record<string, string | number>, token = readKey) => {
    const res = await ctx.http().get("/api/v1/dashboard/traces/").query(query).set(bearer(token));
    expect(res.status).toBe(200);
    return AvTraceListResponseSchema.parse(res.body);
  };
  const idsOf = (page: { results: { trace_id: string }[] }) => page.results.map((r) => r.trace_id);

  it("summarises trace metadata over 8 KB in lists; the detail has it whole", async () => {
    const metadata = { notes: "m".repeat(10_000) };
    const item = traceItem({ agent: "big-metadata", extra: { metadata } });
    await ingestOk({ traces: [item] });
    const list = AvTraceListResponseSchema.parse((await ctx.http().get("/api/v1/dashboard/traces").query({ agent: "big-metadata" }).set(bearer(readKey)).expect(200)).body);
    expect(list.results[0]!.metadata).toMatchObject({ _truncated: true, size_bytes: 10_013 });
    expect((await detail(item.trace.trace_id as string)).metadata).toEqual(metadata);
  });

  it("filters by agent, status, success, outcome, time, duration and text", async () => {
    const window = { start: "2025-02-01T00:00:00Z", end: "2025-02-28T00:00:00Z" };
    expect(idsOf(await list({ ...window, agent: "lister-a" }))).toEqual([ids.ok2, ids.ok1]);
    expect(idsOf(await list({ ...window, status: "failed" }))).toEqual([ids.failed]);
    expect(idsOf(await list({ ...window, status: "running" }))).toEqual([ids.running]);
    expect(idsOf(await list({ ...window, status: "timed_out" }))).toEqual([ids.timedOut]);
    expect(idsOf(await list({ ...window, status: "completed" }))).toEqual([ids.ok2, ids.ok1]);
    expect(idsOf(await list({ ...window, success: "false" }))).toEqual([ids.ok2]);
    expect(idsOf(await list({ ...window, outcome: "won" }))).toEqual([ids.ok1]);
    expect(idsOf(await list({ start: "2025-02-02T00:00:00Z", end: "2025-02-03T00:00:00Z" }))).toEqual([ids.failed, ids.ok2]);
    expect(idsOf(await list({ ...window, min_duration_ms: 150, max_duration_ms: 300 }))).toEqual([ids.failed, ids.ok2]);
    expect(idsOf(await list({ ...window, q: "rate limit" }))).toEqual([ids.failed]);
    expect(idsOf(await list({ ...window, q: "LISTER-B" }))).toEqual([ids.timedOut, ids.running, ids.failed]);
    expect(idsOf(await list({ ...window, q: ids.ok1!.slice(0, 13) }))).toEqual([ids.ok1]);
    expect(idsOf(await list({ ...window, q: "100%" }))).toEqual([]);
    const agentId = (await list({ ...window, agent: "lister-a" })).results[0]!.agent_id;
    expect(idsOf(await list({ ...window, agent_id: agentId }))).toEqual([ids.ok2, ids.ok1]);
  });

  it("orders and paginates", async () => {
    const window = { start: "2025-02-01T00:00:00Z", end: "2025-02-28T00:00:00Z" };
    expect(idsOf(await list({ ...window, order_by: "duration_ms", order: "asc" }))).toEqual([ids.ok1, ids.failed, ids.ok2, ids.timedOut, ids.running]);
    expect(idsOf(await list({ ...window, order: "asc" }))).toEqual([ids.ok1, ids.ok2, ids.failed, ids.running, ids.timedOut]);
    const p1 = await list({ ...window, page_size: 2 });
    expect(p1).toMatchObject({ total: 5, page: 1, page_size: 2, has_next: true });
    expect(idsOf(p1)).toEqual([ids.timedOut, ids.running]);
    const p3 = await list({ ...window, page_size: 2, page: 3 });
    expect(p3).toMatchObject({ total: 5, page: 3, has_next: false });
    expect(idsOf(p3)).toEqual([ids.ok1]);
    const all = await list({});
    expect(all.page_size).toBe(20);
    const newestFirst = all.results.map((r) => r.started_at);
    expect([...newestFirst].sort().reverse()).toEqual(newestFirst);
  });

  it("answers bad parameters with 400", async () => {
    for (const query of [{ page_size: 0 }, { page_size: 101 }, { page: 0 }, { status: "done" }, { order_by: "name" }, { success: "yes" }, { start: "2025-02-30T00:00:00Z" }, { start: "soon" }]) {
      const res = await ctx.http().get("/api/v1/dashboard/traces").query(query).set(bearer(readKey));
      expect(res.status, JSON.stringify(query)).toBe(400);
      AvErrorSchema.parse(res.body);
    }
  });
});

describe("stale-run sweeper", () => {
  it("times out runs without activity and closes their open spans", async () => {
    const stale = traceItem({ agent: "sleepy", status: "running", spans: 2 });
    const fresh = traceItem({ agent: "sleepy", status: "running", spans: 1 });
    await ingestOk({ traces: [stale] });
    // The stale run's last activity is pushed into the past; the fresh one just reported.
    await ctx.db.prisma.agentInstance.update({
      where: { accountId_id: { accountId: ctx.accountId, id: stale.trace.trace_id as string } },
      data: { lastActivityAt: new Date(Date.now() - ctx.config.RUN_TIMEOUT_MS - 60_000) },
    });
    await ctx.db.prisma.span.update({
      where: { accountId_id: { accountId: ctx.accountId, id: stale.spans[1]!.span_id } },
      data: { status: "pending", startedAt: null },
    });
    await ingestOk({ traces: [fresh] });

    const swept = await ctx.services.sweeper.sweepStaleRuns(new Date());
    expect(swept).toEqual({ runs: 1, spans: 2 });
    const d = await detail(stale.trace.trace_id as string);
    expect(d.status).toBe("timed_out");
    expect(d.ended_at).not.toBeNull();
    expect(d.spans.every((s) => s.status === "failed" && s.ended_at !== null)).toBe(true);
    const rows = await ctx.db.prisma.span.findMany({ where: { accountId: ctx.accountId, agentInstanceId: stale.trace.trace_id as string } });
    expect(rows.map((r) => r.status).sort()).toEqual(["cancelled", "failed"]);
    const instance = await ctx.db.prisma.agentInstance.findFirstOrThrow({ where: { accountId: ctx.accountId, id: stale.trace.trace_id as string } });
    expect(instance).toMatchObject({ status: "terminated", terminationReason: "timed_out" });
    expect((await detail(fresh.trace.trace_id as string)).status).toBe("running");
    expect(await ctx.services.sweeper.sweepStaleRuns(new Date())).toEqual({ runs: 0, spans: 0 });

    // A late "running" report does not revive it; a final report does finish it.
    await ingestOk({ traces: [{ ...stale, spans: [] }] });
    expect((await detail(stale.trace.trace_id as string)).status).toBe("timed_out");
    await ingestOk({ traces: [{ trace: { ...stale.trace, status: "completed" }, spans: [] }] });
    expect((await detail(stale.trace.trace_id as string)).status).toBe("completed");

    const later = new Date(Date.now() + ctx.config.RUN_TIMEOUT_MS + 60_000);
    expect((await ctx.services.sweeper.sweepStaleRuns(later)).runs).toBeGreaterThanOrEqual(1);
    expect((await detail(fresh.trace.trace_id as string)).status).toBe("timed_out");
  });
});
