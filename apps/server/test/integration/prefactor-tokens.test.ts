import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokenCreatedSchema, ApiTokenListSchema, ApiTokenResponseSchema, DeletedResponseSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, registerInstance, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
let a: ReturnType<typeof api>;
beforeAll(async () => {
  ctx = await createTestContext();
  a = api(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);

/** A token creation's response (not a replay): the secret is there. */
function created(body: unknown) {
  const parsed = ApiTokenCreatedSchema.parse(body);
  if (typeof parsed.token !== "string") throw new Error("the creation carries no secret");
  return { ...parsed, token: parsed.token };
}

describe("API tokens", () => {
  it("shows the secret once, stores only its hash, and lists the token without it", async () => {
    const first = created((await a.post("/api_token", { details: { token_scope: "account", name: "ci" } }).expect(200)).body);
    expect(first.token).toMatch(/^sg_[0-9a-f]{64}$/);
    expect(first.details).toMatchObject({ type: "api_token", status: "active", token_scope: "account", name: "ci", prefix: first.token.slice(0, 11) });
    const row = await ctx.db.prisma.apiToken.findUniqueOrThrow({ where: { id: first.details.id } });
    expect(JSON.stringify(row)).not.toContain(first.token.slice(3));

    const fetched = await a.get(`/api_token/${first.details.id}`).expect(200);
    expect(fetched.text).not.toContain(first.token);
    const list = ApiTokenListSchema.parse((await a.get("/api_token").expect(200)).body);
    expect(list.summaries.map((t) => t.id)).toContain(first.details.id);
    expect(JSON.stringify(list)).not.toContain(first.token);

    await api(ctx, first.token).get("/ping").expect(200);
  });

  it("suspends, activates and revokes; each takes effect on the next request", async () => {
    const { token, details } = created((await a.post("/api_token", { details: { token_scope: "account" } }).expect(200)).body);
    const as = api(ctx, token);
    await as.get("/ping").expect(200);

    expect(ApiTokenResponseSchema.parse((await a.post(`/api_token/${details.id}/suspend`, {}).expect(200)).body).details.status).toBe("suspended");
    expect(errorOf((await as.get("/ping").expect(401)).body).code).toBe("bad_authtoken");
    expect(errorOf((await a.post(`/api_token/${details.id}/suspend`, {}).expect(409)).body).code).toBe("invalid_action");

    await a.post(`/api_token/${details.id}/activate`, {}).expect(200);
    await as.get("/ping").expect(200);

    expect(errorOf((await a.delete(`/api_token/${details.id}`).expect(409)).body).code).toBe("invalid_action");
    await a.post(`/api_token/${details.id}/revoke`, {}).expect(200);
    expect(errorOf((await as.get("/ping").expect(401)).body).code).toBe("bad_authtoken");
    expect(errorOf((await a.post(`/api_token/${details.id}/activate`, {}).expect(409)).body).code).toBe("invalid_action");
    DeletedResponseSchema.parse((await a.delete(`/api_token/${details.id}`).expect(200)).body);
    await a.get(`/api_token/${details.id}`).expect(404);
  });

  it("stops an expired token on its next request", async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const { token } = created((await a.post("/api_token", { details: { token_scope: "account", expires_at: soon } }).expect(200)).body);
    await api(ctx, token).get("/ping").expect(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect(errorOf((await api(ctx, token).get("/ping").expect(401)).body).code).toBe("bad_authtoken");
    const past = await a.post("/api_token", { details: { token_scope: "account", expires_at: "2020-01-01T00:00:00Z" } }).expect(400);
    expect(errorOf(past.body).code).toBe("invalid_value");
  });

  it("limits an agent_deployment token to its agent, without admin rights", async () => {
    const mine = await registerInstance(ctx, { agent_version: { name: "deployed-agent", external_identifier: "1" } });
    const other = await startedInstance(ctx, { agent_version: { name: "someone-else", external_identifier: "1" } });
    expect(errorOf((await a.post("/api_token", { details: { token_scope: "agent_deployment" } }).expect(400)).body).code).toBe("required_value");
    const { token, details } = created(
      (await a.post("/api_token", { details: { token_scope: "agent_deployment", agent_id: mine.agent_id } }).expect(200)).body,
    );
    expect(details).toMatchObject({ token_scope: "agent_deployment", agent_id: mine.agent_id, scopes: ["read", "write"] });
    const dep = api(ctx, token);
    await dep.post(`/agent_instance/${mine.id}/start`, {}).expect(200);
    await dep.post("/agent_instance/register", { agent_id: mine.agent_id, agent_version: { external_identifier: "2" }, agent_schema_version: { external_identifier: "s" } }).expect(200);
    // Another agent's run is "not found" to it, as another account's would be (a 403 would say it exists).
    expect(errorOf((await dep.post(`/agent_instance/${other.id}/finish`, {}).expect(404)).body).code).toBe("not_found");
    expect(errorOf((await dep.post("/api_token", { details: { token_scope: "account" } }).expect(403)).body).code).toBe("not_permitted");
    expect(errorOf((await dep.post("/environment", { details: { name: "x" } }).expect(403)).body).code).toBe("not_permitted");
  });

  it("enforces scopes: read-only cannot write, write-only cannot read", async () => {
    const readOnly = (await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read"], secretPrefix: "sg_" })).secret;
    const writeOnly = (await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["write"], secretPrefix: "sg_" })).secret;
    const inst = await registerInstance(ctx);
    await api(ctx, readOnly).get(`/agent_instance/${inst.id}`).expect(200);
    expect(errorOf((await api(ctx, readOnly).post(`/agent_instance/${inst.id}/start`, {}).expect(403)).body).code).toBe("not_permitted");
    expect(errorOf((await api(ctx, writeOnly).get(`/agent_instance/${inst.id}`).expect(403)).body).code).toBe("not_permitted");
    await api(ctx, writeOnly).post(`/agent_instance/${inst.id}/start`, {}).expect(200);
    await api(ctx, writeOnly).get("/api_token").expect(403);
  });

  it("never shows another account's tokens", async () => {
    const other = await ctx.newAccount();
    const mine = created((await a.post("/api_token", { details: { token_scope: "account" } }).expect(200)).body).details;
    const b = api(ctx, other.token);
    await b.get(`/api_token/${mine.id}`).expect(404);
    await b.post(`/api_token/${mine.id}/revoke`, {}).expect(404);
    const list = ApiTokenListSchema.parse((await b.get("/api_token").expect(200)).body);
    expect(list.summaries.every((t) => t.account_id === other.accountId)).toBe(true);
    await api(ctx, created((await a.post("/api_token", { details: { token_scope: "account" } }).expect(200)).body).token).get("/ping").expect(200);
  });
});
