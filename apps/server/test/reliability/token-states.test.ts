/**
 * A token that is suspended, revoked or expired stops working on its very next request, in both
 * dialects, whatever path it is used on. The rows are changed directly in the database, as the
 * token-management endpoints (built elsewhere) or an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, buildOpenApiDocument, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { hashSecret } from "../../src/domain/accounts/tokens.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const paths = Object.keys(buildOpenApiDocument().paths ?? {});
const AV_PING = "/api/v1/me/api-keys/ping";
const avPingDocumented = paths.some((p) => p.replace(/\/$/, "") === AV_PING);

async function freshToken(prefix: "sg_" | "av_") {
  const { token, secret } = await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read", "write"], secretPrefix: prefix });
  expect(token.tokenHash).toBe(hashSecret(secret));
  return { id: token.id, secret };
}

const changes: Array<[string, Record<string, unknown>, RegExp]> = [
  ["suspended", { status: "suspended" }, /suspended/],
  ["revoked", { status: "revoked" }, /revoked/],
  ["expired", { expiresAt: new Date(Date.now() - 1000) }, /expired/],
];

describe.each(changes)("a %s token", (_state, data, reason) => {
  it("gets 401 bad_authtoken on its next Prefactor request", async () => {
    const { id, secret } = await freshToken("sg_");
    await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${secret}`).expect(200);
    await ctx.db.prisma.apiToken.update({ where: { id }, data });
    const res = await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${secret}`).expect(401);
    const body = ErrorEnvelopeSchema.parse(res.body);
    expect(body.code).toBe("bad_authtoken");
    expect(body.message).toMatch(reason);
    // Every other path too, before any route or body handling.
    const other = await ctx.http().post("/api/v1/account").set("Authorization", `Bearer ${secret}`).send({ details: {} }).expect(401);
    expect(ErrorEnvelopeSchema.parse(other.body).code).toBe("bad_authtoken");
  });

  it.skipIf(!avPingDocumented)("gets 401 on its next AgentVista request (GET /me/api-keys/ping)", async () => {
    const { id, secret } = await freshToken("av_");
    await ctx.http().get(AV_PING).set("Authorization", `Bearer ${secret}`).expect(200);
    await ctx.db.prisma.apiToken.update({ where: { id }, data });
    const res = await ctx.http().get(AV_PING).set("Authorization", `Bearer ${secret}`).expect(401);
    AvErrorSchema.parse(res.body);
  });

  it("gets 401 in the AgentVista envelope on any AgentVista path", async () => {
    const { id, secret } = await freshToken("av_");
    await ctx.db.prisma.apiToken.update({ where: { id }, data });
    const res = await ctx.http().get("/api/v1/dashboard/traces").set("Authorization", `Bearer ${secret}`).expect(401);
    expect(Object.keys(res.body)).toEqual(["detail"]);
    expect(AvErrorSchema.parse(res.body).detail).toMatch(reason);
  });
});

// Span writes recall a token the process has already authenticated instead of reading it again;
// their statement checks the token instead. The promise is the same: the very next request fails.
describe.each(changes)("a %s token on the per-span write routes", (_state, data, reason) => {
  it("gets 401 on its next span create or finish, whatever else is wrong, and writes nothing", async () => {
    const { id, secret } = await freshToken("sg_");
    const a = api(ctx, secret);
    const run = await startedInstance(ctx, {}, secret);
    const created = async (status: string) =>
      (await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status, payload: { model: "m" } } }).expect(200)).body.details
        .id as string;
    const open = await created("active");
    const keyed = await created("active");
    await ctx.db.prisma.apiToken.update({ where: { id }, data });

    const refused = [
      await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: {} } }),
      await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: {} }, idempotency_key: "k-1" }),
      await a.post(`/agent_spans/${open}/finish`, { result_payload: { response: "r" } }),
      await a.post(`/agent_spans/${keyed}/finish`, { idempotency_key: "k-2" }),
      // Requests that would fail anyway still answer 401 first.
      await a.post("/agent_spans", { details: { schema_name: "llm" } }),
      await a.post(`/agent_spans/${open}/finish`, { status: "cancelled" }),
      await a.post("/agent_spans/01nothingnothingnothingnothing00/finish", {}),
    ];
    for (const res of refused) {
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(ErrorEnvelopeSchema.parse(res.body)).toMatchObject({ code: "bad_authtoken", message: expect.stringMatching(reason) });
    }
    const spans = await ctx.db.prisma.span.findMany({ where: { agentInstanceId: run.id } });
    expect(spans.map((s) => s.status).sort()).toEqual(["active", "active"]);
  });
});

describe("a recalled token that lost its write scope", () => {
  it("gets 403 on its next span create or finish, and writes nothing", async () => {
    const { id, secret } = await freshToken("sg_");
    const a = api(ctx, secret);
    const run = await startedInstance(ctx, {}, secret);
    const open = (await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: {} } }).expect(200)).body
      .details.id as string;
    await ctx.db.prisma.apiToken.update({ where: { id }, data: { scopes: ["read"] } });
    for (const res of [
      await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: {} } }),
      await a.post(`/agent_spans/${open}/finish`, {}),
    ]) {
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("not_permitted");
    }
    const spans = await ctx.db.prisma.span.findMany({ where: { agentInstanceId: run.id } });
    expect(spans.map((s) => s.status)).toEqual(["active"]);
  });
});

describe("a recalled token that is fine", () => {
  it("creates and finishes spans with the same answers as a token read from the database", async () => {
    const { secret } = await freshToken("sg_");
    const a = api(ctx, secret);
    const run = await startedInstance(ctx, {}, secret);
    const first = await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: "gpt-4o", prompt: "Hi" } } });
    const second = await a.post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { model: "gpt-4o", prompt: "Hi" } } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const finished = await a.post(`/agent_spans/${second.body.details.id}/finish`, { result_payload: { response: "Hello!" } }).expect(200);
    const read = await a.get(`/agent_spans/${second.body.details.id}`).expect(200);
    expect(finished.body).toEqual(read.body);
    expect(read.body.details).toMatchObject({ status: "complete", summary: "gpt-4o: Hi → Hello!" });
  });
});

describe("a token that expires later", () => {
  it("keeps working until then", async () => {
    const { id, secret } = await freshToken("sg_");
    await ctx.db.prisma.apiToken.update({ where: { id }, data: { expiresAt: new Date(Date.now() + 3_600_000) } });
    await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${secret}`).expect(200);
  });
});

describe("a re-activated token", () => {
  it("works again", async () => {
    const { id, secret } = await freshToken("sg_");
    await ctx.db.prisma.apiToken.update({ where: { id }, data: { status: "suspended" } });
    await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${secret}`).expect(401);
    await ctx.db.prisma.apiToken.update({ where: { id }, data: { status: "active" } });
    await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${secret}`).expect(200);
  });
});
