/**
 * A token that is suspended, revoked or expired stops working on its very next request, in both
 * dialects, whatever path it is used on. The rows are changed directly in the database, as the
 * token-management endpoints (built elsewhere) or an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, buildOpenApiDocument, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { hashSecret } from "../../src/domain/accounts/tokens.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

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
