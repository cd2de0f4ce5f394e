import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorEnvelopeSchema, HealthSchema, PingResponseSchema, ReadySchema, AccountResponseSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ JSON_BODY_LIMIT_BYTES: "2048" });
});
afterAll(async () => {
  await ctx?.close();
});

describe("health, readiness and docs", () => {
  it("reports the process up and the database ready", async () => {
    const health = await ctx.http().get("/healthz").expect(200);
    HealthSchema.parse(health.body);
    const ready = await ctx.http().get("/readyz").expect(200);
    expect(ReadySchema.parse(ready.body).database).toBe(ctx.db.kind);
  });

  it("serves the committed OpenAPI document and an API reference page with local assets", async () => {
    const spec = await ctx.http().get("/openapi.json").expect(200);
    expect(spec.body.openapi).toBe("3.1.0");
    expect(spec.body.paths["/api/v1/ping"]).toBeDefined();
    const page = await ctx.http().get("/docs").expect(200);
    expect(page.text).toContain("/docs/assets/swagger-ui-bundle.js");
    expect(page.text).not.toMatch(/https?:\/\//);
    await ctx.http().get("/docs/assets/swagger-ui-bundle.js").expect(200).expect("content-type", /javascript/);
    await ctx.http().get("/docs/init.js").expect(200);
  });

  it("echoes a request id, or makes one", async () => {
    const given = await ctx.http().get("/healthz").set("X-Request-Id", "abc-123").expect(200);
    expect(given.headers["x-request-id"]).toBe("abc-123");
    const made = await ctx.http().get("/healthz").expect(200);
    expect(made.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await ctx.http().get("/healthz").set("X-Request-Id", "<script>").expect(200);
    expect(bad.headers["x-request-id"]).not.toBe("<script>");
  });
});

describe("GET /api/v1/ping", () => {
  it("accepts the admin token", async () => {
    const res = await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${ctx.token}`).expect(200);
    const body = PingResponseSchema.parse(res.body);
    expect(body.details.account_id).toBe(ctx.accountId);
    expect(body.details.scopes).toEqual(expect.arrayContaining(["read", "write", "admin"]));
  });

  it("says not_authenticated without a token", async () => {
    const res = await ctx.http().get("/api/v1/ping").expect(401);
    expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("not_authenticated");
  });

  it("says bad_authtoken for a wrong token or a malformed header", async () => {
    const wrong = await ctx.http().get("/api/v1/ping").set("Authorization", "Bearer sg_nope").expect(401);
    expect(ErrorEnvelopeSchema.parse(wrong.body).code).toBe("bad_authtoken");
    const malformed = await ctx.http().get("/api/v1/ping").set("Authorization", "Basic abc").expect(401);
    expect(ErrorEnvelopeSchema.parse(malformed.body).code).toBe("bad_authtoken");
  });

  it("returns the caller's account", async () => {
    const res = await ctx.http().get("/api/v1/account").set("Authorization", `Bearer ${ctx.token}`).expect(200);
    expect(AccountResponseSchema.parse(res.body).details.id).toBe(ctx.accountId);
  });
});

describe("request bodies", () => {
  it("answers malformed JSON with 400 bad_request in the envelope", async () => {
    const res = await ctx
      .http()
      .post("/api/v1/ping")
      .set("Authorization", `Bearer ${ctx.token}`)
      .set("Content-Type", "application/json")
      .send('{"details": ');
    expect(res.status).toBe(400);
    const body = ErrorEnvelopeSchema.parse(res.body);
    expect(body.code).toBe("bad_request");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it("answers a body over the limit with 413 in the envelope", async () => {
    const res = await ctx
      .http()
      .post("/api/v1/ping")
      .set("Authorization", `Bearer ${ctx.token}`)
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ blob: "x".repeat(5000) }));
    expect(res.status).toBe(413);
    expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("payload_too_large");
  });

  it("answers unknown routes with 404 not_found", async () => {
    const res = await ctx.http().get("/api/v1/nowhere").set("Authorization", `Bearer ${ctx.token}`).expect(404);
    expect(ErrorEnvelopeSchema.parse(res.body).code).toBe("not_found");
  });
});
