import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AvApiKeyCreatedSchema,
  AvApiKeyListResponseSchema,
  AvApiKeyPingSchema,
  AvApiKeyRevokedSchema,
  AvErrorSchema,
  AvTraceBatchResponseSchema,
  AvTraceListResponseSchema,
} from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avError, avKey, bearer, traceItem } from "../helpers/agentvista.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const create = (body: unknown, token = ctx.token) => ctx.http().post("/api/v1/me/api-keys/").set(bearer(token)).send(body as object);

describe("av_ API keys", () => {
  it("creates a key shown once, stores only its hash, and the key works with its scopes", async () => {
    const res = await create({ name: "ingest bot", scopes: ["write", "write"] });
    expect(res.status).toBe(201);
    const key = AvApiKeyCreatedSchema.parse(res.body);
    expect(key.key).toMatch(/^av_[0-9a-f]{64}$/);
    expect(key).toMatchObject({ name: "ingest bot", scopes: ["write"], prefix: key.key.slice(0, 11), is_active: true, last_used_at: null });

    const row = await ctx.db.prisma.apiToken.findFirstOrThrow({ where: { id: key.id } });
    expect(row.tokenHash).toBe(createHash("sha256").update(key.key).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(key.key);

    const ingest = await ctx.http().post("/api/v1/traces/batch").set(bearer(key.key)).send({ traces: [traceItem({ agent: "bot" })] });
    expect(AvTraceBatchResponseSchema.parse(ingest.body).accepted).toBe(1);
    avError(await ctx.http().get("/api/v1/dashboard/traces").set(bearer(key.key)), 403);

    // ping belongs to the read scope (api-agentvista.md): an ingestion-only key is refused.
    avError(await ctx.http().get("/api/v1/me/api-keys/ping/").set(bearer(key.key)), 403);
    const reader = await avKey(ctx, ["read"]);
    const ping = await ctx.http().get("/api/v1/me/api-keys/ping/").set(bearer(reader)).expect(200);
    expect(AvApiKeyPingSchema.parse(ping.body)).toEqual({ status: "ok", scopes: ["read"] });
    const noSlash = await ctx.http().get("/api/v1/me/api-keys/ping").set(bearer(reader)).expect(200);
    AvApiKeyPingSchema.parse(noSlash.body);
  });

  it("lists keys newest first, paginated, without secrets", async () => {
    for (let i = 0; i < 3; i++) expect((await create({ scopes: ["read"] })).status).toBe(201);
    const total = await ctx.db.prisma.apiToken.count({ where: { accountId: ctx.accountId } });
    const first = await ctx.http().get("/api/v1/me/api-keys").query({ page_size: 2 }).set(bearer(ctx.token)).expect(200);
    const page1 = AvApiKeyListResponseSchema.parse(first.body);
    expect(page1).toMatchObject({ total, page: 1, page_size: 2, has_next: true });
    expect(page1.results).toHaveLength(2);
    expect(JSON.stringify(first.body)).not.toMatch(/"key"|av_[0-9a-f]{64}/);
    const all = AvApiKeyListResponseSchema.parse((await ctx.http().get("/api/v1/me/api-keys/").set(bearer(ctx.token)).expect(200)).body);
    expect(all.results).toHaveLength(total);
    expect(all.has_next).toBe(false);
    const created = all.results.map((k) => k.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    expect(all.results[0]!.name).toBeNull();
  });

  it("revokes a key, which stops working at once", async () => {
    const key = AvApiKeyCreatedSchema.parse((await create({ name: "short-lived", scopes: ["read", "write"] })).body);
    await ctx.http().get("/api/v1/dashboard/traces").set(bearer(key.key)).expect(200);
    const res = await ctx.http().delete(`/api/v1/me/api-keys/${key.id}/`).set(bearer(ctx.token)).expect(200);
    expect(AvApiKeyRevokedSchema.parse(res.body)).toEqual({ id: key.id, is_active: false });
    const after = await ctx.http().get("/api/v1/dashboard/traces").set(bearer(key.key));
    expect(after.status).toBe(401);
    AvErrorSchema.parse(after.body);
    avError(await ctx.http().get("/api/v1/me/api-keys/ping").set(bearer(key.key)), 401);
    const listed = AvApiKeyListResponseSchema.parse((await ctx.http().get("/api/v1/me/api-keys").set(bearer(ctx.token))).body);
    expect(listed.results.find((k) => k.id === key.id)?.is_active).toBe(false);
    const noSlash = await ctx.http().delete(`/api/v1/me/api-keys/${key.id}`).set(bearer(ctx.token)).expect(200);
    AvApiKeyRevokedSchema.parse(noSlash.body);
  });

  it("needs the admin scope to manage keys, the read scope to ping", async () => {
    const readWrite = await avKey(ctx, ["read", "write"]);
    const denied = await create({ scopes: ["read"] }, readWrite);
    expect(denied.status).toBe(403);
    expect(AvErrorSchema.parse(denied.body).detail).toMatch(/admin/);
    avError(await ctx.http().get("/api/v1/me/api-keys/").set(bearer(readWrite)), 403);
    const victim = AvApiKeyCreatedSchema.parse((await create({ scopes: ["read"] })).body);
    avError(await ctx.http().delete(`/api/v1/me/api-keys/${victim.id}/`).set(bearer(readWrite)), 403);
    const ping = await ctx.http().get("/api/v1/me/api-keys/ping/").set(bearer(readWrite)).expect(200);
    expect(AvApiKeyPingSchema.parse(ping.body).scopes).toEqual(["read", "write"]);
    const none = await ctx.http().get("/api/v1/me/api-keys/ping/");
    expect(none.status).toBe(401);
    AvErrorSchema.parse(none.body);
    const bad = await ctx.http().get("/api/v1/me/api-keys/ping/").set(bearer("av_nope"));
    avError(bad, 401);
  });

  it("rejects bad bodies, and cannot reach another account's keys", async () => {
    for (const body of [{}, { scopes: [] }, { scopes: ["admin"] }, { scopes: ["read"], name: "x".repeat(300) }]) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      AvErrorSchema.parse(res.body);
    }
    const other = await ctx.newAccount("elsewhere");
    const mine = AvApiKeyCreatedSchema.parse((await create({ scopes: ["read"] })).body);
    const res = await ctx.http().delete(`/api/v1/me/api-keys/${mine.id}/`).set(bearer(other.token));
    expect(res.status).toBe(404);
    AvErrorSchema.parse(res.body);
    const theirs = AvApiKeyListResponseSchema.parse((await ctx.http().get("/api/v1/me/api-keys/").set(bearer(other.token))).body);
    expect(theirs.results.map((k) => k.id)).not.toContain(mine.id);
    const list = await ctx.http().get("/api/v1/dashboard/traces").set(bearer(mine.key)).expect(200);
    AvTraceListResponseSchema.parse(list.body);
    avError(await ctx.http().get("/api/v1/me/api-keys").query({ page_size: 101 }).set(bearer(ctx.token)), 400);
  });

  it("answers unknown AgentVista paths with 404 in its own error format", async () => {
    const res = await ctx.http().get("/api/v1/me/nothing").set(bearer(ctx.token));
    expect(res.status).toBe(404);
    AvErrorSchema.parse(res.body);
  });
});
