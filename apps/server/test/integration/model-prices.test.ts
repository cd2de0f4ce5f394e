import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentSpanListSchema,
  AgentSpanResponseSchema,
  AvCompareAgentsResponseSchema,
  AvTraceBatchResponseSchema,
  AvTraceDetailSchema,
  ErrorEnvelopeSchema,
  ModelPriceDeletedResponseSchema,
  ModelPriceOverrideResponseSchema,
  ModelPriceTableResponseSchema,
} from "@spyglass/contracts";
import { costOf, priceOf } from "../../src/domain/prices/service.js";
import { avKey, bearer, traceItem } from "../helpers/agentvista.js";
import { api, startedInstance } from "../helpers/prefactor.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** One trace with one llm span of `model` and these tokens (and cost, when given). */
function llmTrace(model: string, tokens: { input: number; output: number }, cost?: string, startedAt = new Date("2026-06-01T10:00:00Z")) {
  const item = traceItem({ agent: "priced", spans: 1, startedAt });
  const span: Record<string, unknown> = item.spans[0]!;
  delete span.cost_usd;
  Object.assign(span, { type: "llm", model, input_tokens: tokens.input, output_tokens: tokens.output, ...(cost ? { cost_usd: cost } : {}) });
  return item;
}

async function ingestOne(item: ReturnType<typeof llmTrace>) {
  const res = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [item] });
  expect(AvTraceBatchResponseSchema.parse(res.body)).toMatchObject({ accepted: 1 });
  const read = await ctx.http().get(`/api/v1/dashboard/traces/${String(item.trace.trace_id)}`).set(bearer(ctx.token));
  return AvTraceDetailSchema.parse(read.body);
}

describe("model price table", () => {
  it("matches the most specific pattern in effect at the span's start, and prices cached input", () => {
    const at = new Date("2026-06-01T00:00:00Z");
    expect(priceOf("gpt-4o-mini-2024-07-18", at)?.pattern).toBe("gpt-4o-mini*");
    expect(priceOf("openai/GPT-4o", at)?.pattern).toBe("gpt-4o*");
    expect(priceOf("us.anthropic.claude-sonnet-4-20250514-v1:0", at)?.provider).toBe("anthropic");
    expect(priceOf("models/gemini-2.5-flash", at)?.pattern).toBe("gemini-2.5-flash*");
    expect(priceOf("mistral-large-latest", at)?.provider).toBe("mistral");
    // Before gpt-4o*'s price took effect, the dated model's own entry applies; an unknown model has none.
    expect(priceOf("gpt-4o-2024-05-13", new Date("2024-06-01T00:00:00Z"))?.inputPerMillion).toBe("5.00");
    expect(priceOf("my-own-model", at)).toBeNull();
    const gpt4o = priceOf("gpt-4o", at)!;
    expect(costOf(gpt4o, 1_000_000, 0)).toBe("2.500000");
    expect(costOf(gpt4o, 1_000_000, 0, 400_000)).toBe("2.000000");
    expect(costOf(gpt4o, 1, 1)).toBe("0.000013");
  });

  it("computes a cost at ingest for AgentVista spans without one, marked computed; a reported cost wins", async () => {
    const computed = await ingestOne(llmTrace("gpt-4o", { input: 1000, output: 200 }));
    expect(computed.spans[0]).toMatchObject({ cost_usd: "0.004500", cost_computed: true });
    expect(computed.total_cost_usd).toBe("0.004500");

    const reported = await ingestOne(llmTrace("gpt-4o", { input: 1000, output: 200 }, "0.1"));
    expect(reported.spans[0]).toMatchObject({ cost_usd: "0.100000", cost_computed: false });

    const unknown = await ingestOne(llmTrace("my-own-model", { input: 1000, output: 200 }));
    expect(unknown.spans[0]).toMatchObject({ cost_usd: null, cost_computed: false });
  });

  it("lets an account override prices through the API (admin), for its own spans only", async () => {
    const reader = await avKey(ctx, ["read", "write"]);
    const table = await ctx.http().get("/api/v1/model_prices").set(bearer(reader));
    expect(table.status).toBe(200);
    const shipped = ModelPriceTableResponseSchema.parse(table.body).details;
    expect(shipped.prices.length).toBeGreaterThan(20);
    expect(new Set(shipped.prices.map((p) => p.provider))).toEqual(new Set(["openai", "anthropic", "google", "mistral"]));
    expect(shipped.overrides).toEqual([]);

    const body = { details: { model_pattern: "my-own-*", input_per_million: "1", output_per_million: "2", effective_from: "2026-01-01" } };
    const denied = await ctx.http().post("/api/v1/model_prices").set(bearer(reader)).send(body);
    expect(denied.status).toBe(403);
    ErrorEnvelopeSchema.parse(denied.body);
    const invalid = await ctx.http().post("/api/v1/model_prices").set(bearer(ctx.token)).send({ details: { ...body.details, input_per_million: "-1" } });
    expect(invalid.status).toBe(400);

    const created = await ctx.http().post("/api/v1/model_prices").set(bearer(ctx.token)).send(body);
    expect(created.status).toBe(201);
    const override = ModelPriceOverrideResponseSchema.parse(created.body).details;
    expect(override).toMatchObject({ model_pattern: "my-own-*", input_per_million: "1.000000", effective_from: "2026-01-01" });

    const priced = await ingestOne(llmTrace("my-own-model", { input: 1_000_000, output: 500_000 }));
    expect(priced.spans[0]).toMatchObject({ cost_usd: "2.000000", cost_computed: true });
    // Before the override's effective date there is no price.
    const early = await ingestOne(llmTrace("my-own-model", { input: 1000, output: 0 }, undefined, new Date("2025-12-31T23:00:00Z")));
    expect(early.spans[0]!.cost_usd).toBeNull();

    // Another account keeps the shipped table.
    const other = await ctx.newAccount("prices-other");
    const otherTable = ModelPriceTableResponseSchema.parse((await ctx.http().get("/api/v1/model_prices").set(bearer(other.token))).body).details;
    expect(otherTable.overrides).toEqual([]);
    expect((await ctx.http().delete(`/api/v1/model_prices/${override.id}`).set(bearer(other.token))).status).toBe(404);

    const deleted = await ctx.http().delete(`/api/v1/model_prices/${override.id}`).set(bearer(ctx.token));
    expect(ModelPriceDeletedResponseSchema.parse(deleted.body).details).toEqual({ type: "model_price", id: override.id, deleted: true });
    const after = await ingestOne(llmTrace("my-own-model", { input: 1000, output: 0 }));
    expect(after.spans[0]!.cost_usd).toBeNull();
  });

  it("reads model and tokens from Prefactor payloads, prices them, and keeps the run's totals (dashboard, compare-agents)", async () => {
    const a = api(ctx);
    const run = await startedInstance(ctx, { agent_version: { name: "prefactor-priced", external_identifier: "1.0.0" } });
    // OpenAI-style usage in the result, the model in the payload.
    const created = await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: "gpt-4o", prompt: "Hi" } } });
    const spanId = AgentSpanResponseSchema.parse(created.body).details.id;
    expect(created.body.details).toMatchObject({ model: "gpt-4o", cost_usd: null, total_tokens: null });
    const finished = await a.post(`/agent_spans/${spanId}/finish`, { result_payload: { response: "Hello", token_usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 } } });
    expect(AgentSpanResponseSchema.parse(finished.body).details).toMatchObject({ model: "gpt-4o", input_tokens: 1000, output_tokens: 200, total_tokens: 1200, cost_usd: "0.004500", cost_computed: true });
    // Anthropic-style usage, created finished.
    await a.post("/agent_spans", {
      details: { agent_instance_id: run.id, schema_name: "llm", status: "complete", payload: { model: "claude-sonnet-4-20250514", prompt: "Hi" }, result_payload: { response: "Hey", usage: { input_tokens: 2000, output_tokens: 100 } } },
    }).expect(200);
    // A span that names no usage reads exactly as before.
    const plain = await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "tool", status: "active", payload: { name: "lookup" } } });
    expect(Object.keys(plain.body.details)).not.toContain("model");

    const list = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${run.id}`)).body).summaries;
    expect(list.find((x) => x.payload.model === "claude-sonnet-4-20250514")).toMatchObject({ input_tokens: 2000, output_tokens: 100, total_tokens: 2100, cost_usd: "0.007500", cost_computed: true });
    await a.post(`/agent_instance/${run.id}/finish`, {}).expect(200);

    const trace = AvTraceDetailSchema.parse((await ctx.http().get(`/api/v1/dashboard/traces/${run.id}`).set(bearer(ctx.token))).body);
    expect(trace).toMatchObject({ total_tokens: 3300, total_cost_usd: "0.012000" });
    const compare = await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query({ agent_a: "prefactor-priced", agent_b: "priced" }).set(bearer(ctx.token));
    expect(AvCompareAgentsResponseSchema.parse(compare.body).agents[0]).toMatchObject({ total_tokens: 3300, total_cost: 0.012 });
  });
});
