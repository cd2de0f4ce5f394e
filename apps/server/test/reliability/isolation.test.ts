/**
 * Tenant isolation and scopes, driven from the OpenAPI document so that a new operation cannot
 * slip past: account B, holding valid ids of account A's resources, must get 404 (in the
 * dialect's envelope) on every operation with a path parameter, read or write; B's lists never
 * show A's rows; ids of A's resources named in B's request bodies and filters are not found; and
 * A's resources are unchanged afterwards. Then scopes: a read-only key cannot call a write
 * operation, a write-only key cannot call a read operation (403).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema, OtlpStatusSchema } from "@spyglass/contracts";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { listOperations, type Operation } from "../helpers/openapi.js";
import { api, registerInstance, seedSchemaVersion } from "../helpers/prefactor.js";

let ctx: TestContext;
let b: { accountId: string; token: string };
/** A's resources, by kind. */
const A: Record<string, string> = {};

beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0" });
  b = await ctx.newAccount("tenant-b");
  const a = api(ctx);
  A.environment = (await a.post("/environment", { details: { name: "a-env" } }).expect(200)).body.details.id;
  A.agent = (await a.post("/agent", { details: { name: "a-lonely-agent" } }).expect(200)).body.details.id;
  const instance = await registerInstance(ctx, { agent_version: { name: "a-bot", external_identifier: "1.0.0" } });
  A.runAgent = instance.agent_id;
  A.schemaVersion = instance.agent_schema_version_id;
  A.version = (await a.get(`/agent_instance/${instance.id}`).expect(200)).body.details.agent_version_id;
  await a.post(`/agent_instance/${instance.id}/start`, {}).expect(200);
  A.instance = instance.id;
  A.span = (await a.post("/agent_spans", { details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", payload: { model: "m" } } }).expect(200)).body.details.id;
  A.token = (await a.post("/api_token", { details: { token_scope: "account" } }).expect(200)).body.details.id;
  const trace = traceItem({ agent: "a-av-agent", spans: 2 });
  await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [trace] }).expect(200);
  A.trace = trace.trace.trace_id as string;
  A.avSpan = (trace.spans[0] as { span_id: string }).span_id;
  A.avAgent = (await ctx.http().get(`/api/v1/dashboard/traces/${A.trace}`).set(bearer(ctx.token)).expect(200)).body.agent_id;
  A.modelPrice = (
    await a.post("/model_prices", { details: { model_pattern: "a-model", input_per_million: "1", output_per_million: "2" } }).expect(201)
  ).body.details.id;
  A.avKey = (await ctx.http().post("/api/v1/me/api-keys/").set(bearer(ctx.token)).send({ name: "a-key", scopes: ["read"] }).expect(201)).body.id;
});
afterAll(async () => {
  await ctx?.close();
});

const ops = listOperations().filter((op) => op.dialect !== "system");
const withIds = ops.filter((op) => op.pathParams.length > 0);
const lists = ops.filter((op) => op.method === "get" && op.pathParams.length === 0);

/** Which of A's resources an operation's path names. */
function resourceOf(path: string): string {
  const rules: Array<[RegExp, string]> = [
    [/^\/api\/v1\/environment\//, "environment"],
    [/^\/api\/v1\/agent\//, "agent"],
    [/^\/api\/v1\/agent_version\//, "version"],
    [/^\/api\/v1\/agent_schema_version\//, "schemaVersion"],
    [/^\/api\/v1\/agent_instance\//, "instance"],
    [/^\/api\/v1\/agent_spans\//, "span"],
    [/^\/api\/v1\/api_token\//, "token"],
    [/^\/api\/v1\/dashboard\/traces\//, "trace"],
    [/^\/api\/v1\/agents\//, "avAgent"],
    [/^\/api\/v1\/me\/api-keys\//, "avKey"],
    [/^\/api\/v1\/model_prices\//, "modelPrice"],
  ];
  const hit = rules.find(([re]) => re.test(path));
  if (!hit) throw new Error(`isolation matrix: no resource of account A for ${path}; add it to resourceOf()`);
  return hit[1];
}

/** The operation's path with A's ids in it (a span of a trace: a span of A's trace). */
function pathOfA(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_param, name: string) =>
    encodeURIComponent(name === "span_id" && resourceOf(path) === "trace" ? A.avSpan! : A[resourceOf(path)]!),
  );
}

/** A body that passes validation, so that the answer is about the id, not the input. */
const BODIES: Record<string, unknown> = {
  updateEnvironment: { details: { name: "hijacked" } },
  updateAgent: { details: { name: "hijacked" } },
  startAgentInstance: {},
  finishAgentInstance: { status: "complete" },
  terminateAgentInstance: { reason: "hijacked" },
  finishAgentSpan: { status: "complete" },
  setTraceOutcome: { success: false, outcome: "hijacked" },
};

function send(op: Operation, path: string, token: string, body?: unknown) {
  const req = ctx.http()[op.method](path).set(bearer(token));
  return op.method === "get" ? req : req.send((body ?? BODIES[op.operationId] ?? {}) as object);
}

function expectNotFound(op: Operation, res: { status: number; body: unknown }) {
  expect(res.status, `${op.method.toUpperCase()} ${op.path}: ${JSON.stringify(res.body)}`).toBe(404);
  if (op.dialect === "agentvista") expect(Object.keys(AvErrorSchema.parse(res.body))).toEqual(["detail"]);
  else if (op.dialect === "otlp") OtlpStatusSchema.parse(res.body);
  else expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("not_found");
}

function expectForbidden(op: Operation, res: { status: number; body: unknown }) {
  expect(res.status, `${op.method.toUpperCase()} ${op.path}: ${JSON.stringify(res.body)}`).toBe(403);
  if (op.dialect === "agentvista") AvErrorSchema.parse(res.body);
  else if (op.dialect === "otlp") OtlpStatusSchema.parse(res.body);
  else expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("not_permitted");
}

/** Everything A can read about its resources, to compare before and after B's attempts. */
async function snapshotOfA() {
  const reads = withIds.filter((op) => op.method === "get");
  const out: Record<string, unknown> = {};
  for (const op of reads) {
    const path = pathOfA(op.path);
    const res = await send(op, path, ctx.token);
    expect(res.status, `${op.path}: ${JSON.stringify(res.body)}`).toBe(200);
    out[path] = res.body;
  }
  out.tokens = (await api(ctx).get("/api_token?pagination[page_size]=100").expect(200)).body.summaries;
  out.environments = (await api(ctx).get("/environment").expect(200)).body.summaries;
  out.traces = (await ctx.http().get("/api/v1/dashboard/traces/").set(bearer(ctx.token)).expect(200)).body.results;
  out.spans = (await api(ctx).get(`/agent_spans?agent_instance_id=${A.instance}`).expect(200)).body.summaries;
  // A token's last-use stamp (which also moves its updated_at) follows its own use; nothing else may.
  for (const t of out.tokens as Array<Record<string, unknown>>) {
    delete t.last_used_at;
    delete t.updated_at;
  }
  return out;
}

const figures = { crossTenantCalls: 0, bodyAndFilterCases: 0, listCalls: 0, scopeCalls: 0 };

describe("another tenant's ids", () => {
  it("answer 404 on every operation with a path parameter, read or write, and change nothing", async () => {
    expect(withIds.length).toBeGreaterThan(20);
    const before = await snapshotOfA();
    // Writes last, destructive ones (delete, revoke) at the very end, so every read sees A intact.
    const order = [...withIds].sort((x, y) => rank(x) - rank(y));
    for (const op of order) {
      const path = pathOfA(op.path);
      expectNotFound(op, await send(op, path, b.token));
      figures.crossTenantCalls++;
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it("named in request bodies and filters, are not found (and nothing of A's is touched)", async () => {
    const before = await snapshotOfA();
    const bApi = api(ctx, b.token);
    const cases: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>, number[]]> = [
      ["span on A's instance", () => bApi.post("/agent_spans", { details: { agent_instance_id: A.instance, schema_name: "llm", status: "active", payload: {} } }), [404]],
      ["register on A's agent", () => bApi.post("/agent_instance/register", { agent_id: A.runAgent, agent_version: { external_identifier: "9" }, agent_schema_version: seedSchemaVersion }), [404]],
      ["register in A's environment", () => bApi.post("/agent_instance/register", { environment_id: A.environment, agent_version: { name: "b-bot", external_identifier: "9" }, agent_schema_version: seedSchemaVersion }), [404]],
      ["version of A's agent", () => bApi.post("/agent_version", { details: { agent_id: A.runAgent, agent_schema_version_id: A.schemaVersion, external_identifier: "9" } }), [404]],
      ["schema version of A's agent", () => bApi.post("/agent_schema_version", { details: { agent_id: A.runAgent, external_identifier: "9" } }), [404]],
      ["deployment token for A's agent", () => bApi.post("/api_token", { details: { token_scope: "agent_deployment", agent_id: A.runAgent } }), [404]],
      [
        "bulk on A's instance and span",
        async () => {
          const res = await bApi.post("/bulk", { items: [{ _type: "agent_spans/finish", idempotency_key: "iso-bulk-1", agent_span_id: A.span }] });
          // A bulk answers 200; the item carries its own error envelope.
          expect(res.status).toBe(200);
          return { status: (res.body.outputs["iso-bulk-1"].code === "not_found" ? 404 : 200) as number, body: res.body };
        },
        [404],
      ],
      ["compare with A's agent", () => ctx.http().get(`/api/v1/dashboard/traces/compare-agents?agent_a=${A.avAgent}&agent_b=${A.avAgent}`).set(bearer(b.token)), [404]],
      ["compare with A's agent name", () => ctx.http().get(`/api/v1/dashboard/traces/compare-agents?agent_a=a-av-agent&agent_b=a-bot`).set(bearer(b.token)), [404]],
    ];
    for (const [what, run, statuses] of cases) {
      const res = await run();
      expect(statuses, `${what}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
      figures.bodyAndFilterCases++;
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it("never appear in another tenant's lists, whatever the filter", async () => {
    expect(lists.length).toBeGreaterThanOrEqual(10);
    const aIds = Object.values(A);
    const filters: Record<string, string> = {
      agent_id: A.runAgent!,
      agent_instance_id: A.instance!,
      environment_id: A.environment!,
      agent: "a-av-agent",
    };
    for (const op of lists) {
      const queries = [""];
      for (const p of op.queryParams) if (filters[p.name]) queries.push(`?${p.name}=${encodeURIComponent(filters[p.name]!)}`);
      for (const q of queries) {
        const res = await send(op, `${op.path}${q}`, b.token);
        figures.listCalls++;
        // A list that needs a filter may refuse the call; none may show A's rows.
        expect([200, 400, 404], `${op.path}${q}: ${JSON.stringify(res.body)}`).toContain(res.status);
        const text = JSON.stringify(res.body);
        for (const id of aIds) expect(text.includes(id), `${op.path}${q} shows A's ${id}`).toBe(false);
      }
    }
  });
});

describe("a trace id used by two tenants", () => {
  // After the list checks: from here on, B owns a trace whose id is also A's.
  it("is two traces: B's batch reusing A's trace id neither reads nor changes A's", async () => {
    const before = await snapshotOfA();
    const reuse = traceItem({ agent: "b-agent", traceId: A.trace, status: "failed", spans: 1 });
    await ctx.http().post("/api/v1/traces/batch").set(bearer(b.token)).send({ traces: [reuse] }).expect(200);
    const bTrace = await ctx.http().get(`/api/v1/dashboard/traces/${A.trace}`).set(bearer(b.token)).expect(200);
    expect(bTrace.body.agent_name).toBe("b-agent");
    expect(bTrace.body.spans.map((s: { span_id: string }) => s.span_id)).toEqual([reuse.spans[0]!.span_id]);
    figures.bodyAndFilterCases++;
    expect(await snapshotOfA()).toEqual(before);
  });
});

/** Reads, then writes, then the destructive writes. */
function rank(op: Operation): number {
  if (op.method === "get") return 0;
  if (op.method === "delete" || /\/(revoke|retire|terminate|finish)$/.test(op.path)) return 2;
  return 1;
}

describe("scopes", () => {
  /** Valid bodies for the operations without path parameters. */
  const createBodies = (): Record<string, unknown> => ({
    generatePfids: {},
    createEnvironment: { details: { name: "scoped" } },
    createAgent: { details: { name: "scoped" } },
    createAgentVersion: { details: { agent_id: A.runAgent, agent_schema_version_id: A.schemaVersion, external_identifier: "scoped" } },
    createAgentSchemaVersion: { details: { agent_id: A.runAgent, external_identifier: "scoped" } },
    registerAgentInstance: { agent_version: { name: "scoped", external_identifier: "1" }, agent_schema_version: seedSchemaVersion },
    createAgentSpan: { details: { agent_instance_id: A.instance, schema_name: "llm", status: "active", payload: {} } },
    bulk: { items: [{ _type: "agent_spans/finish", idempotency_key: `scoped-${randomUUID()}`, agent_span_id: A.span }] },
    createApiToken: { details: { token_scope: "account" } },
    ingestTraceBatch: { traces: [traceItem({ agent: "scoped" })] },
    createAvApiKey: { scopes: ["read"] },
    createModelPriceOverride: { details: { model_pattern: "scoped", input_per_million: "1", output_per_million: "2" } },
    exportOtlpTraces: { resourceSpans: [] },
    exportOtlpTracesAgentvistaPath: { resourceSpans: [] },
  });
  /** Prefactor's ping answers any valid token (its SDKs check their token with it at start-up). */
  const ANY_SCOPE = new Set(["ping"]);

  function pathFor(op: Operation) {
    return pathOfA(op.path);
  }

  it("a read-only key gets 403 on every write operation, in both dialects, and writes nothing", async () => {
    const keys = [];
    for (const prefix of ["sg_", "av_"] as const) keys.push((await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read"], secretPrefix: prefix })).secret);
    const before = await snapshotOfA();
    const bodies = createBodies();
    for (const secret of keys) {
      for (const op of ops.filter((o) => o.method !== "get").sort((x, y) => rank(x) - rank(y))) {
        expectForbidden(op, await send(op, pathFor(op), secret, bodies[op.operationId] ?? BODIES[op.operationId]));
        figures.scopeCalls++;
      }
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it("a write-only key gets 403 on every read operation, in both dialects", async () => {
    for (const prefix of ["sg_", "av_"] as const) {
      const { secret } = await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["write"], secretPrefix: prefix });
      const q: Record<string, string> = { listAgentSpans: `?agent_instance_id=${A.instance}`, compareAgents: `?agent_a=${A.avAgent}&agent_b=${A.runAgent}` };
      for (const op of ops.filter((o) => o.method === "get" && !ANY_SCOPE.has(o.operationId))) {
        expectForbidden(op, await send(op, `${pathFor(op)}${q[op.operationId] ?? ""}`, secret));
        figures.scopeCalls++;
      }
      // Prefactor's ping answers any valid key; AgentVista's belongs to the read scope (spec).
      await ctx.http().get("/api/v1/ping").set(bearer(secret)).expect(200);
    }
  });

  it("prints the matrix's size", () => {
    console.log(
      `isolation: ${withIds.length} operations with a path parameter × another tenant's ids = ${figures.crossTenantCalls} calls, all 404; ` +
        `${figures.bodyAndFilterCases} body/filter cases; ${lists.length} list operations × filters = ${figures.listCalls} calls without A's rows; ` +
        `${figures.scopeCalls} scope checks (403)`,
    );
  });
});
