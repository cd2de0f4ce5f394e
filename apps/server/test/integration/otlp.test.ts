import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { context, trace, SpanStatusCode, type Span, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter as HttpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentSpanListSchema, AvTraceDetailSchema, type AvSpan } from "@spyglass/contracts";
import { avKey, bearer } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

// The official OpenTelemetry JS SDK exporting to a listening server, read back through both dialects.

let ctx: TestContext;
let server: Server;
let base: string;
beforeAll(async () => {
  ctx = await createTestContext();
  server = createServer(ctx.app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await ctx?.close();
});

type Kind = "proto" | "json";
function exporter(kind: Kind, gzip: boolean, path = "/v1/traces", token = ctx.token): SpanExporter {
  const options = { url: `${base}${path}`, headers: bearer(token), compression: (gzip ? "gzip" : "none") as never, timeoutMillis: 20_000 };
  return kind === "proto" ? new ProtoExporter(options) : new HttpJsonExporter(options);
}

/** Sends spans through an exporter; resolves with the export's result code and error. */
function exportSpans(out: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => out.export(spans, resolve));
}

/** A tracer whose finished spans are collected, to be exported when and how a test chooses. */
function collector(service: string) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": service, "deployment.environment": "test" }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer("otlp-test", "1.0.0");
  return {
    tracer,
    take(): ReadableSpan[] {
      const spans = memory.getFinishedSpans().slice();
      memory.reset();
      return spans;
    },
  };
}

const child = (tracer: Tracer, parent: Span, name: string, attributes: Record<string, string | number>) =>
  tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));

const runIdOf = (span: Span) => {
  const hex = span.spanContext().traceId;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

async function dashboard(runId: string, token = ctx.token) {
  const res = await ctx.http().get(`/api/v1/dashboard/traces/${runId}`).set(bearer(token));
  return { status: res.status, body: res.status === 200 ? AvTraceDetailSchema.parse(res.body) : res.body };
}

/** An agent run: root (invoke_agent), an llm call, a tool call that fails. Children end (and are exported) first. */
function agentRun(tracer: Tracer, rootFails = false) {
  const root = tracer.startSpan("invoke_agent support", { attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support" } });
  const llm = child(tracer, root, "chat gpt-4o", {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 200,
    "gen_ai.prompt.0.content": "Where is my order?",
    "gen_ai.completion.0.content": "It ships today.",
  });
  llm.addEvent("gen_ai.content.completion", { "gen_ai.completion": "It ships today." });
  llm.end();
  const tool = child(tracer, root, "execute_tool lookup_order", { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order" });
  tool.setStatus({ code: SpanStatusCode.ERROR, message: "order service timed out" });
  tool.end();
  if (rootFails) root.setStatus({ code: SpanStatusCode.ERROR, message: "agent gave up" });
  return { root, llm, tool };
}

const byName = (spans: AvSpan[], name: string) => spans.find((s) => s.name === name)!;

describe.each([
  { kind: "proto" as const, gzip: true, path: "/v1/traces" },
  { kind: "proto" as const, gzip: false, path: "/api/v1/otlp/v1/traces" },
  { kind: "json" as const, gzip: true, path: "/api/v1/otlp/v1/traces" },
  { kind: "json" as const, gzip: false, path: "/v1/traces" },
])("OTLP export with the official SDK ($kind, gzip $gzip, $path)", ({ kind, gzip, path }) => {
  it("assembles a run from exports arriving children first, readable through both dialects", async () => {
    const service = `otel-${kind}-${gzip ? "gz" : "plain"}`;
    const c = collector(service);
    const out = exporter(kind, gzip, path);
    const { root, llm, tool } = agentRun(c.tracer);
    const runId = runIdOf(root);

    // The children's export: the run exists, still running (its root has not arrived).
    expect(await exportSpans(out, c.take())).toEqual({ code: 0 });
    const early = await dashboard(runId);
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ agent_name: service, status: "running" });

    root.end();
    const rootSpans = c.take();
    expect(await exportSpans(out, rootSpans)).toEqual({ code: 0 });
    // An exporter's retry of the same spans changes nothing.
    expect(await exportSpans(out, rootSpans)).toEqual({ code: 0 });

    const { body } = await dashboard(runId);
    const run = AvTraceDetailSchema.parse(body);
    expect(run).toMatchObject({ trace_id: runId, agent_name: service, status: "completed", error_message: null });
    expect(run.metadata).toMatchObject({ "service.name": service, "deployment.environment": "test", "otel.trace_id": root.spanContext().traceId });
    expect(run.spans).toHaveLength(3);
    const [a, l, t] = [byName(run.spans, "invoke_agent support"), byName(run.spans, "chat gpt-4o"), byName(run.spans, "execute_tool lookup_order")];
    expect(a).toMatchObject({ type: "agent", parent_span_id: null, status: "completed" });
    expect(l).toMatchObject({ type: "llm", parent_span_id: a.span_id, status: "completed", model: "gpt-4o-2024-08-06", input_tokens: 1000, output_tokens: 200, total_tokens: 1200 });
    // No cost was reported: computed from the shipped price of gpt-4o (2.50 / 10.00 USD per million tokens).
    expect(l).toMatchObject({ cost_usd: "0.004500", cost_computed: true });
    expect(t).toMatchObject({ type: "tool", parent_span_id: a.span_id, status: "failed", error_message: "order service timed out" });
    // Every attribute and event is kept, with the original hex ids.
    expect(l.input).toMatchObject({ "gen_ai.prompt.0.content": "Where is my order?", "gen_ai.completion.0.content": "It ships today.", "gen_ai.usage.input_tokens": 1000 });
    expect(l.metadata).toMatchObject({
      "otel.span_id": llm.spanContext().spanId,
      "otel.parent_span_id": root.spanContext().spanId,
      "otel.trace_id": root.spanContext().traceId,
      "otel.kind": "internal",
      "otel.scope": { name: "otlp-test", version: "1.0.0" },
      events: [expect.objectContaining({ name: "gen_ai.content.completion", attributes: { "gen_ai.completion": "It ships today." } })],
    });
    expect(t.metadata).toMatchObject({ "otel.span_id": tool.spanContext().spanId, "otel.status_code": "error" });
    expect(run.total_tokens).toBe(1200);
    expect(run.total_cost_usd).toBe("0.004500");
    expect(run.started_at).toBe(a.started_at);

    // The Prefactor dialect reads the same run as an agent instance.
    const list = await ctx.http().get("/api/v1/agent_spans").query({ agent_instance_id: runId }).set(bearer(ctx.token));
    expect(list.status).toBe(200);
    const spans = AgentSpanListSchema.parse(list.body).summaries;
    expect(spans.map((s) => [s.schema_name, s.status, s.parent_span_id === null]).sort()).toEqual([
      ["agent", "complete", true],
      ["llm", "complete", false],
      ["tool", "failed", false],
    ]);
    expect(spans.find((s) => s.schema_name === "llm")!.payload).toMatchObject({ "gen_ai.request.model": "gpt-4o" });
  });

  it("fails the run when its root span fails", async () => {
    const c = collector(`otel-failing-${kind}`);
    const { root } = agentRun(c.tracer, true);
    root.end();
    expect(await exportSpans(exporter(kind, gzip, path), c.take())).toEqual({ code: 0 });
    const run = AvTraceDetailSchema.parse((await dashboard(runIdOf(root))).body);
    expect(run).toMatchObject({ status: "failed", error_message: "agent gave up" });
  });
});

describe("OTLP export refusals the exporter sees", () => {
  it("a token without the write scope is refused (403), a wrong token too (401), and nothing is stored", async () => {
    const secret = await avKey(ctx, ["read"]);
    const c = collector("otel-refused");
    const span = c.tracer.startSpan("lonely");
    span.end();
    const spans = c.take();
    const forbidden = await exportSpans(exporter("proto", false, "/v1/traces", secret), spans);
    expect(forbidden.code).toBe(1);
    expect(forbidden.error).toMatchObject({ code: 403 });
    const unauthenticated = await exportSpans(exporter("json", false, "/v1/traces", "sg_not_a_token_at_all_0000"), spans);
    expect(unauthenticated.code).toBe(1);
    expect(unauthenticated.error).toMatchObject({ code: 401 });
    expect((await dashboard(runIdOf(span))).status).toBe(404);
  });
});
