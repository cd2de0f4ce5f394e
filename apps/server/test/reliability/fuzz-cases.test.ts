/**
 * The fuzz generator checked on a synthetic document shaped like what zod-to-openapi emits for
 * the routes still being written (path and query parameters, nested bodies, formats, unions), so
 * it is known to work on them before they land.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { leavesOf, listOperations, sampleValue, type OpenApiLike } from "../helpers/openapi.js";
import { catalogue, MAX_URL, prepare, randomCaseArb } from "./fuzz-cases.js";

const pfid = { type: "string", pattern: "^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$" };
const dateTime = { type: "string", format: "date-time" };
const json = (schema: object) => ({ content: { "application/json": { schema } } });

const doc: OpenApiLike = {
  components: {
    schemas: {
      SpanCreate: {
        type: "object",
        properties: {
          details: {
            type: "object",
            properties: {
              agent_instance_id: { type: "string" },
              schema_name: { type: "string", minLength: 1 },
              status: { type: "string", enum: ["pending", "active", "complete"] },
              payload: {},
              id: pfid,
              parent_span_id: { type: ["string", "null"] },
              started_at: dateTime,
              finished_at: { anyOf: [dateTime, { type: "null" }] },
            },
            required: ["agent_instance_id", "schema_name", "status", "payload"],
          },
          idempotency_key: { type: "string", maxLength: 64 },
        },
        required: ["details"],
      },
      TraceBatch: {
        type: "object",
        properties: {
          traces: {
            type: "array",
            items: {
              type: "object",
              properties: {
                trace: {
                  type: "object",
                  properties: {
                    trace_id: { type: "string", format: "uuid" },
                    agent: { type: "string" },
                    started_at: dateTime,
                    total_cost_usd: { anyOf: [{ type: "string" }, { type: "number" }] },
                    metadata: { type: "object", additionalProperties: {} },
                  },
                  required: ["trace_id", "agent", "started_at"],
                },
                spans: {
                  type: "array",
                  items: { type: "object", properties: { span_id: { type: "string", format: "uuid" }, input_tokens: { type: "integer", minimum: 0 } } },
                },
              },
            },
          },
        },
        required: ["traces"],
      },
    },
  },
  paths: {
    "/api/v1/agent_spans": { post: { operationId: "createAgentSpan", requestBody: { required: true, ...json({ $ref: "#/components/schemas/SpanCreate" }) } } },
    "/api/v1/agent/{id}": { get: { operationId: "getAgent", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] } },
    "/api/v1/agent_instance": {
      get: {
        operationId: "listAgentInstances",
        parameters: [
          { name: "agent_id", in: "query", required: true, schema: { type: "string" } },
          { name: "pagination[page_size]", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
          { name: "started_after", in: "query", schema: dateTime },
        ],
      },
    },
    "/api/v1/traces/batch": { post: { operationId: "ingestTraceBatch", requestBody: { required: true, ...json({ $ref: "#/components/schemas/TraceBatch" }) } } },
    "/api/v1/dashboard/traces/{trace_id}/outcome": {
      parameters: [{ name: "trace_id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
      patch: { operationId: "setTraceOutcome", requestBody: json({ type: "object", properties: { success: { type: "boolean" }, outcome: { type: ["string", "null"] } }, required: ["success"] }) },
    },
    "/healthz": { get: { operationId: "getHealth" } },
  } as OpenApiLike["paths"],
};

const limits = { token: "sg_test_token_000000000000", bodyLimit: 4096 };
// What Node's http.request accepts in a path (it throws on anything else).
const SENDABLE_PATH = /^[\u0021-\u00ff]+$/;

describe("the fuzz generator on a synthetic document", () => {
  const ops = listOperations(doc);

  it("lists every operation with its dialect, parameters and body", () => {
    expect(ops.map((o) => `${o.method} ${o.path} ${o.dialect}`)).toEqual([
      "post /api/v1/agent_spans prefactor",
      "get /api/v1/agent/{id} prefactor",
      "get /api/v1/agent_instance prefactor",
      "post /api/v1/traces/batch agentvista",
      "patch /api/v1/dashboard/traces/{trace_id}/outcome agentvista",
      "get /healthz system",
    ]);
    expect(ops[1]!.pathParams.map((p) => p.name)).toEqual(["id"]);
    expect(ops[2]!.queryParams.map((p) => p.name)).toEqual(["agent_id", "pagination[page_size]", "started_after"]);
    expect(ops[4]!.pathParams.map((p) => p.name)).toEqual(["trace_id"]);
    expect(ops[0]!.body).toBeDefined();
  });

  it("samples values that satisfy formats, patterns, enums and unions", () => {
    const span = sampleValue(ops[0]!.body!, doc) as { details: Record<string, unknown> };
    expect(span.details.status).toBe("pending");
    expect(span.details.id).toMatch(/^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$/);
    expect(Number.isNaN(Date.parse(String(span.details.started_at)))).toBe(false);
    expect(typeof span.details.finished_at).toBe("string");
    expect(typeof span.details.parent_span_id).toBe("string");
    const batch = sampleValue(ops[3]!.body!, doc) as { traces: Array<{ trace: Record<string, unknown>; spans: Array<Record<string, unknown>> }> };
    expect(batch.traces[0]!.trace.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(batch.traces[0]!.spans[0]!.input_tokens).toBe(1);
    const leaves = leavesOf(batch, ops[3]!.body, doc);
    expect(leaves.find((l) => l.path.join(".") === "traces.0.trace.started_at")?.schema.format).toBe("date-time");
    expect(leaves.find((l) => l.path.join(".") === "traces.0.trace.trace_id")?.required).toBe(true);
  });

  it("covers every category, with sendable paths, for each operation", () => {
    const expected: Record<string, string[]> = {
      createAgentSpan: ["invalid timestamps", "missing fields", "wrong types", "prototype keys", "numbers out of range"],
      getAgent: ["invalid ids"],
      listAgentInstances: ["bad query"],
      ingestTraceBatch: ["invalid timestamps", "numbers out of range", "extra fields"],
      setTraceOutcome: ["invalid ids", "wrong types"],
    };
    const common = ["baseline", "malformed JSON", "10,000-level nesting", "invalid UTF-8", "1 MB string", "over the body limit", "wrong content type", "bad Authorization header"];
    for (const op of ops) {
      const cases = catalogue(prepare(op, doc), limits);
      const categories = new Set(cases.map((x) => x.c.category));
      for (const category of [...common, ...(expected[op.operationId] ?? [])]) expect([op.operationId, categories.has(category)]).toEqual([op.operationId, true]);
      for (const { c } of cases) {
        expect(c.path).toMatch(SENDABLE_PATH);
        expect(c.path.length).toBeLessThanOrEqual(MAX_URL);
      }
    }
    const list = catalogue(prepare(ops[2]!, doc), limits);
    expect(list.every(({ c }) => c.path.includes("agent_id="))).toBe(true);
    expect(list.some(({ c }) => c.path.includes("pagination%5Bpage_size%5D=1e308"))).toBe(true);
  });

  it("draws random cases that can be sent", () => {
    for (const op of ops) {
      for (const { c, auth } of fc.sample(randomCaseArb(prepare(op, doc)), { numRuns: 300, seed: 7 })) {
        expect(c.path).toMatch(SENDABLE_PATH);
        expect(c.path.length).toBeLessThanOrEqual(MAX_URL + 4_000);
        expect(c.method).toBe(op.method.toUpperCase());
        expect(["admin", "none", "garbage"]).toContain(auth);
      }
    }
  });
});
