import { AvTraceDetailSchema } from "@spyglass/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, SEED_BATCH } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, startedInstance } from "../helpers/prefactor.js";

// The dashboard reads every run through the trace detail: a span reported through the Prefactor
// dialect must carry there what Prefactor shows for it (its rendered summary and its verdict).
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe("GET /api/v1/dashboard/traces/{trace_id}: summaries and validation verdicts", () => {
  it("shows a Prefactor span's rendered summary and its validation verdict with errors", async () => {
    const run = await startedInstance(ctx);
    const a = api(ctx);
    const good = await a.post("/agent_spans", {
      details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: "gpt-4o", prompt: "Hi" } },
    });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    await a.post(`/agent_spans/${good.body.details.id}/finish`, { status: "complete", result_payload: { response: "Hello!", tokens: 3 } }).expect(200);
    const bad = await a.post("/agent_spans", {
      details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: 4, prompt: "Hi" } },
    });
    expect(bad.status, JSON.stringify(bad.body)).toBe(200);

    const res = await ctx.http().get(`/api/v1/dashboard/traces/${run.id}`).set(bearer(ctx.token)).expect(200);
    const detail = AvTraceDetailSchema.parse(res.body);
    const byId = new Map(detail.spans.map((s) => [s.span_id, s]));
    const ok = byId.get(good.body.details.id);
    expect(ok?.summary).toBe("gpt-4o: Hi → Hello!");
    expect(ok?.payload_validation).toEqual({ status: "valid", errors: [] });
    const broken = byId.get(bad.body.details.id);
    expect(broken?.payload_validation.status).toBe("invalid");
    expect(broken?.payload_validation.errors).toEqual([expect.objectContaining({ target: "payload", path: expect.stringContaining("model") })]);
  });

  it("shows an AgentVista span without a summary, as unchecked", async () => {
    await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send(SEED_BATCH).expect(200);
    const traceId = SEED_BATCH.traces[0]!.trace.trace_id;
    const res = await ctx.http().get(`/api/v1/dashboard/traces/${traceId}`).set(bearer(ctx.token)).expect(200);
    const [span] = AvTraceDetailSchema.parse(res.body).spans;
    expect(span?.summary).toBeNull();
    expect(span?.payload_validation).toEqual({ status: "unchecked", errors: [] });
  });

  it("leaves the payloads out with span_payloads=none, marking every span truncated, for the same spans in the same pages", async () => {
    const run = await startedInstance(ctx);
    const a = api(ctx);
    for (let i = 0; i < 5; i++) {
      const span = await a.post("/agent_spans", {
        details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: "gpt-4o", prompt: `p${i}` }, started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() },
      });
      await a.post(`/agent_spans/${span.body.details.id}/finish`, { status: "complete", result_payload: { response: "ok" } }).expect(200);
    }
    const read = async (query: string) => {
      const pages = [];
      let cursor: string | null = "";
      while (cursor !== null) {
        const res = await ctx.http().get(`/api/v1/dashboard/traces/${run.id}?span_limit=2${query}${cursor ? `&span_cursor=${encodeURIComponent(cursor)}` : ""}`).set(bearer(ctx.token)).expect(200);
        const page = AvTraceDetailSchema.parse(res.body);
        pages.push(page);
        cursor = page.next_span_cursor;
      }
      return pages.flatMap((p) => p.spans);
    };
    const full = await read("");
    const lean = await read("&span_payloads=none");
    expect(lean.map((s) => s.span_id)).toEqual(full.map((s) => s.span_id));
    expect(full).toHaveLength(5);
    for (const [i, span] of lean.entries()) {
      expect(span).toMatchObject({ input: null, output: null, metadata: null, truncated: true, summary: `gpt-4o: p${i} → ok` });
      expect(full[i]).toMatchObject({ input: { model: "gpt-4o", prompt: `p${i}` }, truncated: false });
      expect(span.payload_validation).toEqual(full[i]!.payload_validation);
    }
    const bad = await ctx.http().get(`/api/v1/dashboard/traces/${run.id}?span_payloads=some`).set(bearer(ctx.token));
    expect(bad.status).toBe(400);
  });
});
