/**
 * Page size ≤ 100 on every list of both dialects, driven from the OpenAPI document: every GET
 * operation with a page-size query parameter refuses 101 (and absurd values) with 400 in its
 * dialect's envelope and accepts 100. Liquid summaries' bounds are proved in
 * test/integration/prefactor-spans.test.ts ("templates are sandboxed and bounded").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { bearer, traceItem } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { listOperations } from "../helpers/openapi.js";
import { startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
/** What a list needs besides its page size: its required filter or path id. */
const extra: Record<string, string> = {};
let agentId = "";

beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0" });
  const instance = await startedInstance(ctx);
  extra.listAgentSpans = `agent_instance_id=${instance.id}&`;
  const trace = traceItem({ agent: "paged" });
  await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [trace] }).expect(200);
  agentId = (await ctx.http().get(`/api/v1/dashboard/traces/${trace.trace.trace_id}`).set(bearer(ctx.token)).expect(200)).body.agent_id;
});
afterAll(async () => {
  await ctx?.close();
});

const PAGE_SIZE_PARAMS = ["page_size", "pagination[page_size]"];
const ops = listOperations().filter((op) => op.method === "get");
const paged = ops.flatMap((op) => {
  const param = op.queryParams.find((p) => PAGE_SIZE_PARAMS.includes(p.name));
  return param ? [{ op, param: param.name }] : [];
});

describe("page size", () => {
  it("the document's lists all take a page size (except the ones named here)", () => {
    // GET /agents answers a bare array (AgentVista's shape): one row per agent of the account,
    // unpaginated. Listed here so that a new unpaginated list is noticed.
    const unpaged = ops.filter((op) => /^list/.test(op.operationId) && !paged.some((p) => p.op === op)).map((op) => op.operationId);
    expect(unpaged).toEqual(["listAvAgents"]);
    expect(paged.length).toBeGreaterThanOrEqual(10);
  });

  it.each(paged.map((p) => [`${p.op.operationId} (${p.param})`, p] as const))("%s: 100 is accepted, 101 and absurd sizes get 400", async (_name, { op, param }) => {
    const path = op.path.replace(/\{[^}]+\}/, agentId);
    const url = (size: string) => `${path}?${extra[op.operationId] ?? ""}${encodeURIComponent(param).replace(/%5B/g, "[").replace(/%5D/g, "]")}=${size}`;
    const okRes = await ctx.http().get(url("100")).set(bearer(ctx.token));
    expect(okRes.status, JSON.stringify(okRes.body)).toBe(200);
    for (const size of ["101", "1000000", "0", "-1"]) {
      const res = await ctx.http().get(url(size)).set(bearer(ctx.token));
      expect(res.status, `${url(size)}: ${JSON.stringify(res.body)}`).toBe(400);
      if (op.dialect === "agentvista") AvErrorSchema.parse(res.body);
      else expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("invalid_value");
    }
  });
});
