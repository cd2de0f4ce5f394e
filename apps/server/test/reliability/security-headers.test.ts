/**
 * Security headers on every response (issue 19 item 10), driven from the OpenAPI document: every
 * operation of both dialects, answered or refused, plus the system routes, an unknown path and a
 * body over the limit, carries nosniff, the API's CSP (nothing may load or frame it),
 * X-Frame-Options DENY and Referrer-Policy. /docs has its own CSP (own scripts and styles only,
 * not frameable) and does not keep bearer tokens in localStorage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { fillPath, listOperations } from "../helpers/openapi.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0" });
});
afterAll(async () => {
  await ctx?.close();
});

const API_CSP = "default-src 'none';frame-ancestors 'none'";

function expectApiHeaders(res: { headers: Record<string, string | undefined>; status: number }, what: string) {
  expect(res.headers["x-content-type-options"], what).toBe("nosniff");
  expect(res.headers["content-security-policy"], what).toBe(API_CSP);
  expect(res.headers["x-frame-options"], what).toBe("DENY");
  expect(res.headers["referrer-policy"], what).toBe("no-referrer");
  expect(res.headers["x-powered-by"], what).toBeUndefined();
}

describe("security headers", () => {
  it("are on every operation of both dialects, with and without a token", async () => {
    const ops = listOperations();
    expect(ops.length).toBeGreaterThan(40);
    for (const op of ops) {
      const url = fillPath(op.path, {});
      for (const token of [undefined, ctx.token]) {
        let req = ctx.http()[op.method](url);
        if (token) req = req.set("Authorization", `Bearer ${token}`);
        const res = op.method === "get" || op.method === "delete" ? await req : await req.send({});
        expectApiHeaders(res, `${op.method.toUpperCase()} ${op.path} -> ${res.status}`);
      }
    }
  });

  it("are on the system routes, unknown paths and refused bodies", async () => {
    for (const path of ["/healthz", "/readyz", "/openapi.json", "/nowhere", "/api/v1/nowhere", "/api/v1/dashboard/nowhere"]) {
      // (A browser asking for HTML outside the API gets the dashboard, with its own CSP: below.)
      expectApiHeaders(await ctx.http().get(path).set("Accept", "application/json"), path);
    }
    const huge = await ctx
      .http()
      .post("/api/v1/traces/batch")
      .set("Authorization", `Bearer ${ctx.token}`)
      .set("Content-Type", "application/json")
      .send(`{"traces":[],"pad":"${"x".repeat(6 * 1024 * 1024)}"}`);
    expect(huge.status).toBe(413);
    expectApiHeaders(huge, "413");
  });

  it("the dashboard's pages keep the shared headers under their own CSP", async () => {
    for (const path of ["/", "/runs/some-run"]) {
      const res = await ctx.http().get(path).set("Accept", "text/html");
      expect(res.status, path).toBe(200);
      expect(res.headers["content-security-policy"], path).toContain("frame-ancestors 'none'");
      expect(res.headers["content-security-policy"], path).not.toContain("unsafe");
      expect(res.headers["x-frame-options"], path).toBe("DENY");
      expect(res.headers["x-content-type-options"], path).toBe("nosniff");
      expect(res.headers["referrer-policy"], path).toBe("no-referrer");
    }
  });

  it("/docs has its own CSP: same-origin scripts and styles only, never framed, and keeps no token", async () => {
    for (const path of ["/docs", "/docs/", "/docs/init.js", "/docs/assets/swagger-ui.css"]) {
      const res = await ctx.http().get(path).expect(200);
      const csp = res.headers["content-security-policy"] ?? "";
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("style-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe");
      expect(res.headers["x-frame-options"], path).toBe("DENY");
      expect(res.headers["x-content-type-options"], path).toBe("nosniff");
    }
    const init = (await ctx.http().get("/docs/init.js").expect(200)).text;
    expect(init).toContain("persistAuthorization: false");
  });
});
