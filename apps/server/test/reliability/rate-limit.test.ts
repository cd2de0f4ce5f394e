import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema, PingResponseSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";

const LIMIT = 5;
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
});
afterAll(async () => {
  await ctx?.close();
});

const ping = (token?: string) => {
  const req = ctx.http().get("/api/v1/ping");
  return token ? req.set("Authorization", `Bearer ${token}`) : req;
};

describe("per-token rate limit (RATE_LIMIT_PER_MINUTE=5)", () => {
  it("answers 429 rate_limited with Retry-After once a token is over its limit, in both dialects", async () => {
    const { token } = await ctx.newAccount("limited");
    for (let i = 0; i < LIMIT; i++) PingResponseSchema.parse((await ping(token).expect(200)).body);

    const refused = await ping(token).expect(429);
    expect(ErrorEnvelopeSchema.parse(refused.body).code).toBe("rate_limited");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);

    // One budget per token, whichever dialect it is spent on; AgentVista answers in its own body.
    const av = await ctx.http().get("/api/v1/me/api-keys/ping").set("Authorization", `Bearer ${token}`).expect(429);
    expect(AvErrorSchema.parse(av.body).detail).toMatch(/limit/);
    expect(Number(av.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  it("limits each token on its own", async () => {
    const a = await ctx.newAccount("a");
    const b = await ctx.newAccount("b");
    for (let i = 0; i < LIMIT; i++) await ping(a.token).expect(200);
    await ping(a.token).expect(429);
    await ping(b.token).expect(200);
  });

  it("checks the token before the limit: unauthenticated and bad-token requests get 401, not 429", async () => {
    for (let i = 0; i < LIMIT * 3; i++) {
      expect(ErrorEnvelopeSchema.parse((await ping().expect(401)).body).code).toBe("not_authenticated");
      expect(ErrorEnvelopeSchema.parse((await ping("sg_not_a_token").expect(401)).body).code).toBe("bad_authtoken");
    }
  });
});
