/**
 * No token can out-scope itself through idempotency: authorization (scope, token state, agent
 * restriction) is decided before a key's record is looked up or replayed; a new token's secret is
 * never stored (so never replayed); expired records are purged in the background.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokenCreatedSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avKey } from "../helpers/agentvista.js";
import { api, registerInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
beforeAll(async () => {
  // The purge runs on the background sweep's interval (its minimum, to see it act).
  ctx = await createTestContext({ SWEEP_INTERVAL_MS: "1000" });
});
afterAll(async () => {
  await ctx?.close();
});

const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);
const tokenBody = (key: string) => ({ details: { token_scope: "account" }, idempotency_key: key });

async function recordsContaining(text: string): Promise<number> {
  const rows = await ctx.db.prisma.idempotencyRecord.findMany({ select: { responseBody: true } });
  return rows.filter((r) => r.responseBody.includes(text)).length;
}

async function deploymentToken(agentId: string): Promise<string> {
  const { secret } = await ctx.services.accounts.issueToken({
    secretPrefix: "sg_",
    accountId: ctx.accountId,
    scopes: ["read", "write"],
    tokenScope: "agent_deployment",
    agentId,
  });
  return secret;
}

describe("idempotency replays and authorization", () => {
  it("refuses a replay of an admin's token creation to a key without the admin scope, exactly as without the key", async () => {
    const created = await api(ctx).post("/api_token", tokenBody("create-ci-token-1")).expect(200);
    const secret = ApiTokenCreatedSchema.parse(created.body).token!;
    expect(secret).toMatch(/^sg_/);

    for (const scopes of [["read"], ["write"], ["read", "write"]]) {
      const key = await avKey(ctx, scopes);
      const replayed = await api(ctx, key).post("/api_token", tokenBody("create-ci-token-1"));
      const fresh = await api(ctx, key).post("/api_token", tokenBody("create-ci-token-never-used"));
      expect(replayed.status, `scopes ${scopes.join(",")}`).toBe(403);
      expect(replayed.headers["idempotent-replayed"]).toBeUndefined();
      expect(replayed.text).not.toContain(secret.slice(3));
      // Whether the key was used or not is not visible to such a caller.
      expect(errorOf(replayed.body)).toEqual(errorOf(fresh.body));
      expect(errorOf(fresh.body).code).toBe("not_permitted");
    }
  });

  it("never stores a new token's secret: a replay answers the same token without it, saying why", async () => {
    const first = ApiTokenCreatedSchema.parse((await api(ctx).post("/api_token", tokenBody("create-ci-token-2")).expect(200)).body);
    expect(first.token).toMatch(/^sg_[0-9a-f]{64}$/);
    expect(first.notice).toBeUndefined();
    expect(await recordsContaining(first.token!.slice(3))).toBe(0);

    const again = await api(ctx).post("/api_token", tokenBody("create-ci-token-2")).expect(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    const replay = ApiTokenCreatedSchema.parse(again.body);
    expect(replay.details).toEqual(first.details);
    expect(replay.token).toBeNull();
    expect(replay.notice).toMatch(/not stored/);
    expect(again.text).not.toContain(first.token!.slice(3));
    // The first secret still works: the replay created nothing.
    await api(ctx, first.token!).get("/ping").expect(200);
    expect(await ctx.db.prisma.apiToken.count({ where: { id: first.details.id } })).toBe(1);
  });

  it("checks a token's state before replaying what it wrote", async () => {
    const { token, secret } = await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read", "write"], secretPrefix: "sg_" });
    const body = { agent_version: { name: "state-bot", external_identifier: "1" }, agent_schema_version: { external_identifier: "s" }, idempotency_key: "state-register-1" };
    await api(ctx, secret).post("/agent_instance/register", body).expect(200);
    const instance = (await api(ctx, secret).post("/agent_instance/register", body).expect(200)).body.details.id as string;
    const spanBody = { details: { agent_instance_id: instance, schema_name: "x", status: "active", payload: {} }, idempotency_key: "state-span-1" };
    await api(ctx, secret).post(`/agent_instance/${instance}/start`, {}).expect(200);
    await api(ctx, secret).post("/agent_spans", spanBody).expect(200);
    await ctx.db.prisma.apiToken.update({ where: { id: token.id }, data: { status: "suspended" } });
    expect(errorOf((await api(ctx, secret).post("/agent_instance/register", body).expect(401)).body).code).toBe("bad_authtoken");
    expect(errorOf((await api(ctx, secret).post("/agent_spans", spanBody).expect(401)).body).code).toBe("bad_authtoken");
    // A body that does not match the record: 401 too, never the 409 that would say the key exists.
    expect(errorOf((await api(ctx, secret).post("/agent_spans", { ...spanBody, details: { ...spanBody.details, schema_name: "y" } }).expect(401)).body).code).toBe(
      "bad_authtoken",
    );
  });

  it("never replays to a deployment token what was written outside its agent", async () => {
    const mine = await registerInstance(ctx, { agent_version: { name: "replay-mine", external_identifier: "1" } });
    const other = await registerInstance(ctx, { agent_version: { name: "replay-other", external_identifier: "1" } });
    const dep = api(ctx, await deploymentToken(mine.agent_id));
    const register = {
      agent_id: other.agent_id,
      agent_version: { external_identifier: "2" },
      agent_schema_version: { external_identifier: "s" },
      idempotency_key: "other-agent-register",
    };
    const original = await api(ctx).post("/agent_instance/register", register).expect(200);
    const replay = await dep.post("/agent_instance/register", register);
    expect(replay.status).toBe(409);
    expect(errorOf(replay.body).code).toBe("idempotency_key_already_used");
    expect(replay.text).not.toContain(original.body.details.id);

    const start = { idempotency_key: "other-agent-start" };
    await api(ctx).post(`/agent_instance/${other.id}/start`, start).expect(200);
    expect(errorOf((await dep.post(`/agent_instance/${other.id}/start`, start).expect(409)).body).code).toBe("idempotency_key_already_used");

    const span = { details: { agent_instance_id: other.id, schema_name: "llm", status: "active", payload: { prompt: "secret" } }, idempotency_key: "other-agent-span" };
    const written = await api(ctx).post("/agent_spans", span).expect(200);
    const spanReplay = await dep.post("/agent_spans", span).expect(409);
    expect(spanReplay.text).not.toContain(written.body.details.id);

    const bulk = { items: [{ _type: "agent_instances/finish", agent_instance_id: other.id, idempotency_key: "other-agent-bulk-1" }] };
    await api(ctx).post("/bulk", bulk).expect(200);
    const bulkReplay = await dep.post("/bulk", bulk).expect(200);
    expect(errorOf(bulkReplay.body.outputs["other-agent-bulk-1"]).code).toBe("idempotency_key_already_used");

    // The same token replays its own writes as any token does.
    const own = { idempotency_key: "own-agent-start" };
    const started = await dep.post(`/agent_instance/${mine.id}/start`, own).expect(200);
    const again = await dep.post(`/agent_instance/${mine.id}/start`, own).expect(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.text).toBe(started.text);
  });
});

describe("expired idempotency records", () => {
  async function insertRecords(prefix: string, n: number, expiresAt: Date) {
    await ctx.db.prisma.idempotencyRecord.createMany({
      data: Array.from({ length: n }, (_, i) => ({
        accountId: ctx.accountId,
        key: `${prefix}-${i}`,
        requestHash: "x",
        statusCode: 200,
        responseBody: "{}",
        expiresAt,
      })),
    });
  }
  const count = (prefix: string) => ctx.db.prisma.idempotencyRecord.count({ where: { key: { startsWith: `${prefix}-` } } });

  it("are purged in bounded batches, live ones kept", async () => {
    await insertRecords("purge-old", 1_203, new Date(Date.now() - 3_600_000));
    await insertRecords("purge-live", 5, new Date(Date.now() + 3_600_000));
    // Two batches of 500 at most: the rest waits for the next purge.
    expect(await ctx.services.idempotency.purgeExpired(new Date(), 500, 2)).toBe(1_000);
    expect(await count("purge-old")).toBe(203);
    expect(await ctx.services.idempotency.purgeExpired(new Date(), 500, 2)).toBe(203);
    expect(await count("purge-old")).toBe(0);
    expect(await count("purge-live")).toBe(5);
  });

  it("are purged in the background", async () => {
    await insertRecords("purge-bg", 50, new Date(Date.now() - 1000));
    const deadline = Date.now() + 10_000;
    while ((await count("purge-bg")) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count("purge-bg")).toBe(0);
    expect(await count("purge-live")).toBe(5);
  });
});
