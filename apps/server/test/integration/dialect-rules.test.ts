import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentInstanceListSchema,
  AgentInstanceResponseSchema,
  AgentSpanListSchema,
  AgentSpanResponseSchema,
  AvCompareAgentsResponseSchema,
  AvTraceBatchResponseSchema,
  AvTraceDetailSchema,
  AvTraceListResponseSchema,
  BulkResponseSchema,
  ErrorEnvelopeSchema,
} from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { api, registerInstance, startedInstance } from "../helpers/prefactor.js";

// Where the two dialects meet (issue 20, and the time window of issue 21 item 7). The stale-run
// time-out is short (4 s) and the sweeper's timer never fires: tests sweep when they mean to.

let ctx: TestContext;
let a: ReturnType<typeof api>;
beforeAll(async () => {
  ctx = await createTestContext({ RUN_TIMEOUT_MS: "4000", SWEEP_INTERVAL_MS: "86400000" });
  a = api(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const instanceOf = (body: unknown) => AgentInstanceResponseSchema.parse(body).details;
const spanOf = (body: unknown) => AgentSpanResponseSchema.parse(body).details;
const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);

async function ingest(body: unknown) {
  const res = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send(body as object);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return AvTraceBatchResponseSchema.parse(res.body);
}

async function detail(traceId: string) {
  const res = await ctx.http().get(`/api/v1/dashboard/traces/${traceId}`).set(bearer(ctx.token));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return AvTraceDetailSchema.parse(res.body);
}

async function traces(query: Record<string, string>) {
  const res = await ctx.http().get("/api/v1/dashboard/traces").query(query).set(bearer(ctx.token));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return AvTraceListResponseSchema.parse(res.body);
}

function createSpan(instanceId: string, details: Record<string, unknown>) {
  return a.post("/agent_spans", { details: { agent_instance_id: instanceId, payload: {}, ...details } });
}

/** An AgentVista span of `traceId`. */
function avSpan(traceId: string, extra: Record<string, unknown> = {}) {
  return { span_id: randomUUID(), trace_id: traceId, type: "llm", name: "call", status: "completed", started_at: ago(HOUR), ...extra };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("span activity keeps a Prefactor run alive", () => {
  it("survives the stale-run sweeper while spans are created and finished (single and bulk) more often than the time-out", async () => {
    const inst = await startedInstance(ctx);
    const began = Date.now();
    for (let i = 0; Date.now() - began < 6_000; i++) {
      const span = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
      await sleep(350);
      await ctx.services.sweeper.sweepStaleRuns();
      const done = await a
        .post("/bulk", { items: [{ _type: "agent_spans/finish", idempotency_key: `busy-finish-${i}`, agent_span_id: span.id }] })
        .expect(200);
      expect(Object.values(BulkResponseSchema.parse(done.body).outputs)[0]).toMatchObject({ status: "success" });
      await sleep(350);
      await ctx.services.sweeper.sweepStaleRuns();
    }
    expect(instanceOf((await a.get(`/agent_instance/${inst.id}`).expect(200)).body).status).toBe("active");
    // Idle for longer than the time-out, it is swept.
    await ctx.services.sweeper.sweepStaleRuns(new Date(Date.now() + 5_000));
    expect(instanceOf((await a.get(`/agent_instance/${inst.id}`).expect(200)).body)).toMatchObject({ status: "terminated", termination_reason: "timed_out" });
  });
});

describe("reported totals", () => {
  it("win when reported and are kept by later batches without them, each on its own", async () => {
    const traceId = randomUUID();
    const header = (extra: Record<string, unknown> = {}) => ({ trace_id: traceId, agent: "totals", status: "running", started_at: ago(HOUR), ...extra });
    await ingest({ traces: [{ trace: header({ total_tokens: 500, total_cost_usd: "5.000000" }), spans: [avSpan(traceId, { total_tokens: 10, cost_usd: "0.1" })] }] });
    expect(await detail(traceId)).toMatchObject({ total_tokens: 500, total_cost_usd: "5.000000" });
    await ingest({ traces: [{ trace: header(), spans: [avSpan(traceId, { total_tokens: 20, cost_usd: "0.2" })] }] });
    expect(await detail(traceId)).toMatchObject({ total_tokens: 500, total_cost_usd: "5.000000" });
    await ingest({ traces: [{ trace: header({ total_tokens: 700 }), spans: [] }] });
    expect(await detail(traceId)).toMatchObject({ total_tokens: 700, total_cost_usd: "5.000000" });

    // Only the tokens reported: the cost is the sum over the llm spans, and follows new ones.
    const other = randomUUID();
    await ingest({ traces: [{ trace: { trace_id: other, agent: "totals", status: "running", started_at: ago(HOUR), total_tokens: 9 }, spans: [avSpan(other, { cost_usd: "0.1" })] }] });
    await ingest({ traces: [{ trace: { trace_id: other, agent: "totals", status: "running", started_at: ago(HOUR) }, spans: [avSpan(other, { cost_usd: "0.2" })] }] });
    expect(await detail(other)).toMatchObject({ total_tokens: 9, total_cost_usd: "0.300000" });
  });
});

describe("terminated runs in the AgentVista dialect", () => {
  it("read as timed_out and are found by ?status=timed_out, not by failed", async () => {
    const inst = await startedInstance(ctx, { agent_version: { name: "terminated-bot", external_identifier: "1" } });
    await a.post(`/agent_instance/${inst.id}/terminate`, { reason: "operator stopped it" }).expect(200);
    expect((await detail(inst.id)).status).toBe("timed_out");
    expect((await traces({ agent: "terminated-bot", status: "timed_out" })).results.map((t) => t.trace_id)).toEqual([inst.id]);
    expect((await traces({ agent: "terminated-bot", status: "failed" })).results).toEqual([]);
  });
});

describe("instance finish", () => {
  it("refuses a timestamp before started_at", async () => {
    const inst = await registerInstance(ctx);
    await a.post(`/agent_instance/${inst.id}/start`, { timestamp: ago(HOUR) }).expect(200);
    const res = await a.post(`/agent_instance/${inst.id}/finish`, { timestamp: ago(2 * HOUR) }).expect(400);
    expect(errorOf(res.body)).toMatchObject({ code: "invalid_value" });
    expect(res.body.errors.timestamp).toBeDefined();
    expect(instanceOf((await a.get(`/agent_instance/${inst.id}`).expect(200)).body).status).toBe("active");
  });
});

describe("payload validation against a JSON Schema that does not compile", () => {
  const broken = {
    external_identifier: "broken",
    span_type_schemas: [
      { name: "nonsense", params_schema: { type: "nonsense" } },
      { name: "draft4", params_schema: { $schema: "http://json-schema.org/draft-04/schema#", type: "object" } },
      { name: "dangling", params_schema: { type: "object", properties: { x: { $ref: "#/definitions/missing" } } } },
    ],
  };

  it("is unchecked in record mode and refused in strict mode", async () => {
    const inst = await startedInstance(ctx, { agent_version: { name: "broken-schemas", external_identifier: "1" }, agent_schema_version: broken });
    for (const name of ["nonsense", "draft4", "dangling"]) {
      const span = spanOf((await createSpan(inst.id, { schema_name: name, status: "active", payload: { x: 1 } }).expect(200)).body);
      expect(span.payload_validation.status, name).toBe("unchecked");
      expect(span.payload_validation.errors[0]!.message).toContain("not checked");
      const done = spanOf((await a.post(`/agent_spans/${span.id}/finish`, { result_payload: {} }).expect(200)).body);
      expect(done.payload_validation.status, name).toBe("unchecked");
    }

    const strict = await createTestContext({ SPAN_VALIDATION: "strict" });
    try {
      const s = api(strict);
      const run = await startedInstance(strict, { agent_version: { name: "broken-schemas", external_identifier: "1" }, agent_schema_version: broken });
      for (const name of ["nonsense", "draft4", "dangling"]) {
        const res = await s.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: name, status: "active", payload: {} } }).expect(400);
        expect(errorOf(res.body).code).toBe("invalid_value");
        expect(res.body.errors["details.schema_name"]).toBeDefined();
      }
    } finally {
      await strict.close();
    }
  });
});

describe("the accepted window for client timestamps", () => {
  it("refuses years before 2000 and more than a day ahead in both dialects, and accepts up to a day ahead", async () => {
    for (const when of ["0049-06-01T00:00:00Z", "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "9999-01-01T00:00:00Z", new Date(Date.now() + 25 * HOUR).toISOString()]) {
      const traceId = randomUUID();
      const run = await ingest({ traces: [{ trace: { trace_id: traceId, agent: "time-window", status: "running", started_at: when }, spans: [] }] });
      expect(run, when).toMatchObject({ accepted: 0, rejected: 1, errors: [{ message: expect.stringContaining("trace.started_at") }] });
      const spanLate = await ingest({ traces: [{ trace: { trace_id: traceId, agent: "time-window", status: "running", started_at: ago(HOUR) }, spans: [avSpan(traceId, { started_at: when, ended_at: null, status: "running" })] }] });
      expect(spanLate, when).toMatchObject({ accepted: 0, rejected: 1, errors: [{ message: expect.stringContaining("spans.0.started_at") }] });

      const inst = await registerInstance(ctx);
      expect(errorOf((await a.post(`/agent_instance/${inst.id}/start`, { timestamp: when }).expect(400)).body).code).toBe("invalid_value");
      await a.post(`/agent_instance/${inst.id}/start`, {}).expect(200);
      const span = await createSpan(inst.id, { schema_name: "llm", status: "active", started_at: when }).expect(400);
      expect(span.body.errors["details.started_at"]).toBeDefined();
      const open = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
      expect((await a.post(`/agent_spans/${open.id}/finish`, { timestamp: when }).expect(400)).body.errors.timestamp).toBeDefined();
      expect((await a.post(`/agent_instance/${inst.id}/finish`, { timestamp: when }).expect(400)).body.errors.timestamp).toBeDefined();
    }
    // A reported duration that ends beyond the window is refused too.
    const long = randomUUID();
    expect(await ingest({ traces: [{ trace: { trace_id: long, agent: "time-window", started_at: ago(HOUR), duration_ms: 2_000_000_000 }, spans: [] }] })).toMatchObject({ rejected: 1 });

    const soon = new Date(Date.now() + 23 * HOUR).toISOString();
    const traceId = randomUUID();
    expect(await ingest({ traces: [{ trace: { trace_id: traceId, agent: "time-window", status: "running", started_at: soon }, spans: [] }] })).toMatchObject({ accepted: 1 });
    expect((await detail(traceId)).started_at).toBe(soon);
    const inst = await registerInstance(ctx);
    await a.post(`/agent_instance/${inst.id}/start`, { timestamp: soon }).expect(200);
  });
});

describe("parent spans", () => {
  it("a batch naming a span of another trace as a parent is refused for that trace", async () => {
    const first = randomUUID();
    const firstSpan = avSpan(first);
    expect(await ingest({ traces: [{ trace: { trace_id: first, agent: "parents", started_at: ago(HOUR) }, spans: [firstSpan] }] })).toMatchObject({ accepted: 1 });

    const second = randomUUID();
    const stored = await ingest({ traces: [{ trace: { trace_id: second, agent: "parents", started_at: ago(HOUR) }, spans: [avSpan(second, { parent_span_id: firstSpan.span_id })] }] });
    expect(stored).toMatchObject({ accepted: 0, rejected: 1, errors: [{ index: 0, trace_id: second, message: expect.stringContaining("another trace") }] });

    // Within one batch too; and a parent not (yet) stored anywhere is accepted (it may come later).
    const x = randomUUID();
    const y = randomUUID();
    const xSpan = avSpan(x);
    const batch = await ingest({
      traces: [
        { trace: { trace_id: x, agent: "parents", started_at: ago(HOUR) }, spans: [xSpan, avSpan(x, { parent_span_id: randomUUID() })] },
        { trace: { trace_id: y, agent: "parents", started_at: ago(HOUR) }, spans: [avSpan(y, { parent_span_id: xSpan.span_id })] },
      ],
    });
    expect(batch).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, trace_id: y, message: expect.stringContaining("another trace") }] });
  });
});

describe("no span of a finished run stays open; a sweeper's time-out is provisional", () => {
  it("a terminated run stays terminated, and spans reported open for it are closed", async () => {
    const header = { trace_id: randomUUID(), agent: "killed-bot", started_at: ago(HOUR) };
    const inst = { id: header.trace_id };
    await ingest({ traces: [{ trace: { ...header, status: "running" }, spans: [] }] });
    await a.post(`/agent_instance/${inst.id}/terminate`, { reason: "killed" }).expect(200);
    const running = avSpan(inst.id, { status: "running", started_at: ago(1000) });
    expect(await ingest({ traces: [{ trace: { ...header, status: "running" }, spans: [running] }] })).toMatchObject({ accepted: 1 });
    let d = await detail(inst.id);
    expect(d.status).toBe("timed_out");
    expect(d.spans.find((s) => s.span_id === running.span_id)).toMatchObject({ status: "failed", ended_at: expect.any(String), duration_ms: expect.any(Number) });

    await ingest({ traces: [{ trace: { ...header, status: "completed", ended_at: ago(0) }, spans: [] }] });
    d = await detail(inst.id);
    expect(d.status).toBe("timed_out");
    expect(instanceOf((await a.get(`/agent_instance/${inst.id}`).expect(200)).body)).toMatchObject({ status: "terminated", termination_reason: "killed" });
  });

  it("a completed batch closes spans of its trace left open by earlier batches", async () => {
    const traceId = randomUUID();
    const open = avSpan(traceId, { status: "running" });
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: "closer", status: "running", started_at: ago(HOUR) }, spans: [open] }] });
    const end = ago(HOUR / 2);
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: "closer", status: "completed", started_at: ago(HOUR), ended_at: end }, spans: [] }] });
    expect((await detail(traceId)).spans[0]).toMatchObject({ status: "failed", ended_at: end, duration_ms: Date.parse(end) - Date.parse(open.started_at) });
  });

  it("real terminal data replaces a time-out the sweeper inferred, and the totals follow", async () => {
    const traceId = randomUUID();
    const span = avSpan(traceId, { status: "running" });
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: "late", status: "running", started_at: ago(HOUR) }, spans: [span] }] });
    await ctx.services.sweeper.sweepStaleRuns(new Date(Date.now() + 5_000));
    let d = await detail(traceId);
    expect(d).toMatchObject({ status: "timed_out", total_cost_usd: null });
    expect(d.spans[0]!.status).toBe("failed");

    // Still alive but reported running: it stays timed out, its new open span is closed.
    const second = avSpan(traceId, { status: "running", cost_usd: "0.25" });
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: "late", status: "running", started_at: ago(HOUR) }, spans: [second] }] });
    d = await detail(traceId);
    expect(d.status).toBe("timed_out");
    expect(d.spans.every((s) => s.status === "failed")).toBe(true);

    await ingest({
      traces: [
        {
          trace: { trace_id: traceId, agent: "late", status: "completed", started_at: ago(HOUR), ended_at: ago(0) },
          spans: [{ ...span, status: "completed", ended_at: ago(0), cost_usd: "0.5", output: { ok: true } }, { ...second, status: "completed", ended_at: ago(0) }],
        },
      ],
    });
    d = await detail(traceId);
    expect(d).toMatchObject({ status: "completed", total_cost_usd: "0.750000" });
    expect(d.spans.map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(d.spans.find((s) => s.span_id === span.span_id)).toMatchObject({ cost_usd: "0.500000", output: { ok: true } });
  });

  it("Prefactor: finishing a run closes its open spans, and a finish replaces the sweeper's time-out", async () => {
    const inst = await startedInstance(ctx);
    const open = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
    const pending = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "pending" }).expect(200)).body);
    await a.post(`/agent_instance/${inst.id}/finish`, {}).expect(200);
    const spans = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}`).expect(200)).body).summaries;
    expect(spans.find((s) => s.id === open.id)).toMatchObject({ status: "failed", finished_at: expect.any(String) });
    expect(spans.find((s) => s.id === pending.id)).toMatchObject({ status: "cancelled", finished_at: expect.any(String) });
    expect((await detail(inst.id)).spans.every((s) => s.duration_ms !== null)).toBe(true);

    const swept = await startedInstance(ctx);
    await ctx.services.sweeper.sweepStaleRuns(new Date(Date.now() + 5_000));
    expect(instanceOf((await a.get(`/agent_instance/${swept.id}`).expect(200)).body).status).toBe("terminated");
    const finished = instanceOf((await a.post(`/agent_instance/${swept.id}/finish`, { status: "failed" }).expect(200)).body);
    expect(finished).toMatchObject({ status: "failed", termination_reason: null });
    expect((await detail(swept.id)).status).toBe("failed");
    // Now final: another finish is refused.
    await a.post(`/agent_instance/${swept.id}/finish`, {}).expect(409);
  });
});

describe("pagination past the end", () => {
  it("reports an empty page with consistent figures", async () => {
    const res = await a.get("/agent_instance?pagination[page_size]=2&pagination[offset]=1000").expect(200);
    const { pagination, summaries } = AgentInstanceListSchema.parse(res.body);
    expect(summaries).toEqual([]);
    const count = pagination.item_count;
    expect(count).toBeGreaterThan(2);
    expect(pagination).toEqual({
      item_count: count,
      item_start: 0,
      item_end: 0,
      page_index: 500,
      page_offset: 1000,
      page_size: 2,
      page_count: Math.ceil(count / 2),
      next_page_offset: null,
      previous_page_offset: (Math.ceil(count / 2) - 1) * 2,
    });
    const last = AgentInstanceListSchema.parse((await a.get(`/agent_instance?pagination[page_size]=2&pagination[offset]=${pagination.previous_page_offset}`).expect(200)).body);
    expect(last.summaries.length).toBeGreaterThan(0);
    expect(last.pagination.item_end).toBe(count);
  });
});

describe("small rules, one in both dialects", () => {
  it("money: a decimal string may carry an exponent, as a number may", async () => {
    const traceId = randomUUID();
    const out = await ingest({
      traces: [{ trace: { trace_id: traceId, agent: "money", started_at: ago(HOUR) }, spans: [avSpan(traceId, { cost_usd: "2.5e-1" }), avSpan(traceId, { cost_usd: 1e-7 }), avSpan(traceId, { cost_usd: "1e-7" })] }],
    });
    expect(out).toMatchObject({ accepted: 1 });
    expect((await detail(traceId)).spans.map((s) => s.cost_usd).sort()).toEqual(["0.000000", "0.000000", "0.250000"]);
    const tooBig = randomUUID();
    expect(await ingest({ traces: [{ trace: { trace_id: tooBig, agent: "money", started_at: ago(HOUR), total_cost_usd: "1e14" }, spans: [] }] })).toMatchObject({ rejected: 1 });
  });

  it("timestamps without a zone are UTC in both dialects", async () => {
    const local = ago(HOUR).replace("Z", "");
    const inst = await registerInstance(ctx);
    const started = instanceOf((await a.post(`/agent_instance/${inst.id}/start`, { timestamp: local }).expect(200)).body);
    expect(started.started_at).toBe(`${local}Z`);
    const span = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active", started_at: local }).expect(200)).body);
    expect(span.started_at).toBe(`${local}Z`);
    const traceId = randomUUID();
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: "zoneless", status: "running", started_at: local }, spans: [] }] });
    expect((await detail(traceId)).started_at).toBe(`${local}Z`);
  });

  it("agent names are trimmed when stored and when looked up", async () => {
    const traceId = randomUUID();
    await ingest({ traces: [{ trace: { trace_id: traceId, agent: " spaced ", started_at: ago(HOUR) }, spans: [] }] });
    expect((await detail(traceId)).agent_name).toBe("spaced");
    expect((await traces({ agent: " spaced " })).results.map((t) => t.trace_id)).toEqual([traceId]);
    const res = await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query({ agent_a: " spaced ", agent_b: "spaced" }).set(bearer(ctx.token));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(AvCompareAgentsResponseSchema.parse(res.body).agents.map((x) => x.total_runs)).toEqual([1, 1]);
  });

  it("every closed span has its duration: closed by terminate as by the sweeper", async () => {
    const inst = await startedInstance(ctx);
    const open = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active", started_at: ago(2000) }).expect(200)).body);
    await a.post(`/agent_instance/${inst.id}/terminate`, { reason: "stop" }).expect(200);
    const closed = (await detail(inst.id)).spans.find((s) => s.span_id === open.id)!;
    expect(closed.status).toBe("failed");
    expect(closed.duration_ms).toBe(Date.parse(closed.ended_at!) - Date.parse(closed.started_at));
    expect(closed.duration_ms).toBeGreaterThanOrEqual(2000);
  });

  it("a cancelled span has no result unless one is reported, and keeps the start it was given", async () => {
    const inst = await startedInstance(ctx);
    const pending = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "pending" }).expect(200)).body);
    const viaFinish = spanOf((await a.post(`/agent_spans/${pending.id}/finish`, { status: "cancelled" }).expect(200)).body);
    const start = ago(5000);
    const end = ago(1000);
    const created = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "cancelled", started_at: start, finished_at: end }).expect(200)).body);
    expect(viaFinish.result_payload).toBeNull();
    expect(created.result_payload).toBeNull();
    expect(created).toMatchObject({ started_at: start, finished_at: end });
    const active = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
    expect(spanOf((await a.post(`/agent_spans/${active.id}/finish`, {}).expect(200)).body).result_payload).toBeNull();
  });

  it("a run not started yet is placed at its registration in time filters, as in windows", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const inst = await registerInstance(ctx, { agent_version: { name: "pending-bot", external_identifier: "1" } });
    const av = await traces({ agent: "pending-bot", start: from });
    expect(av.results.map((t) => t.trace_id)).toEqual([inst.id]);
    expect((await traces({ agent: "pending-bot", end: from })).results).toEqual([]);
    const list = AgentInstanceListSchema.parse((await a.get(`/agent_instance?agent_id=${inst.agent_id}&started_after=${encodeURIComponent(from)}`).expect(200)).body);
    expect(list.summaries.map((i) => i.id)).toEqual([inst.id]);
    const before = AgentInstanceListSchema.parse((await a.get(`/agent_instance?agent_id=${inst.agent_id}&started_before=${encodeURIComponent(from)}`).expect(200)).body);
    expect(before.summaries).toEqual([]);
  });

  it("the timestamps win over a reported duration_ms that contradicts them", async () => {
    const { trace, spans } = traceItem({ agent: "durations", startedAt: new Date(Date.now() - HOUR), durationMs: 10_000 });
    spans[0]!.started_at = trace.started_at as string;
    Object.assign(spans[0]!, { ended_at: trace.ended_at, duration_ms: 5 });
    await ingest({ traces: [{ trace: { ...trace, duration_ms: 5 }, spans }] });
    const d = await detail(trace.trace_id as string);
    expect(d.duration_ms).toBe(10_000);
    expect(d.spans[0]!.duration_ms).toBe(10_000);
  });
});
