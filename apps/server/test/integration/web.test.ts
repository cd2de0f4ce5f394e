import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_CSP } from "../../src/http/web.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

// A stand-in for apps/web/dist, so these checks do not depend on a front-end build.
const webDir = mkdtempSync(path.join(tmpdir(), "spyglass-web-"));
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="root"></div></body></html>';
mkdirSync(path.join(webDir, "assets"));
writeFileSync(path.join(webDir, "index.html"), INDEX);
writeFileSync(path.join(webDir, "assets", "index-Ab12Cd34.js"), "console.log('spyglass');\n");
writeFileSync(path.join(webDir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");

/** A Content-Security-Policy header as directive → sources, whatever its spacing and order. */
function cspOf(res: { headers: Record<string, string | string[] | undefined> }): Record<string, string[]> {
  const header = String(res.headers["content-security-policy"] ?? "");
  return Object.fromEntries(
    header
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources.sort()]),
  );
}
const dashboardCsp = Object.fromEntries(Object.entries(DASHBOARD_CSP).map(([k, v]) => [k, [...v].sort()]));

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ SPYGLASS_WEB_DIR: webDir });
});
afterAll(async () => {
  await ctx?.close();
  rmSync(webDir, { recursive: true, force: true });
});

describe("the dashboard served by the server", () => {
  it("serves index.html at / uncached, under the strict Content-Security-Policy", async () => {
    const res = await ctx.http().get("/").set("Accept", "text/html");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toBe(INDEX);
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(cspOf(res)).toEqual(cspOf({
      headers: {
        "content-security-policy":
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      },
    }));
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    const direct = await ctx.http().get("/index.html");
    expect(direct.text).toBe(INDEX);
    expect(direct.headers["cache-control"]).toBe("no-cache");
  });

  it("answers client routes with index.html so a reloaded or shared link opens the view", async () => {
    for (const route of ["/runs", "/runs/0f3a2b?span=abc", "/agents/x", "/compare?a=1&b=2&days=30", "/settings"]) {
      const res = await ctx.http().get(route).set("Accept", "text/html,application/xhtml+xml");
      expect(res.status, route).toBe(200);
      expect(res.text, route).toBe(INDEX);
      expect(cspOf(res), route).toEqual(dashboardCsp);
    }
  });

  it("caches hashed assets for a year as immutable, and 404s a missing one instead of sending the page", async () => {
    const res = await ctx.http().get("/assets/index-Ab12Cd34.js");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/javascript/);
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(cspOf(res)).toEqual(dashboardCsp);
    const missing = await ctx.http().get("/assets/index-00000000.js").set("Accept", "text/html");
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain("<html");
    const icon = await ctx.http().get("/favicon.svg");
    expect(icon.status).toBe(200);
    expect(icon.headers["cache-control"]).toBe("public, max-age=3600");
  });

  it("leaves the API, /docs, /healthz and /readyz to the server: an unknown API path is still a JSON 404", async () => {
    const api = await ctx.http().get("/api/v1/no-such-thing").set("Accept", "text/html").set("Authorization", `Bearer ${ctx.token}`);
    expect(api.status).toBe(404);
    expect(api.headers["content-type"]).toMatch(/^application\/json/);
    expect(api.body).toMatchObject({ status: "error", code: "not_found" });
    const av = await ctx.http().get("/api/v1/dashboard/nothing/here").set("Accept", "text/html").set("Authorization", `Bearer ${ctx.token}`);
    expect(av.status).toBe(404);
    expect(av.headers["content-type"]).toMatch(/^application\/json/);
    const ping = await ctx.http().get("/api/v1/ping").set("Authorization", `Bearer ${ctx.token}`);
    expect(ping.status).toBe(200);
    expect((await ctx.http().get("/healthz")).body).toEqual({ status: "ok" });
    expect((await ctx.http().get("/readyz")).status).toBe(200);
    const docs = await ctx.http().get("/docs").set("Accept", "text/html");
    expect(docs.text).toContain("swagger-ui");
    const docsMissing = await ctx.http().get("/docs/nope").set("Accept", "text/html");
    expect(docsMissing.status).toBe(404);
    expect(docsMissing.text).not.toBe(INDEX);
  });

  it("does not answer a non-HTML request for an unknown path with the page", async () => {
    const res = await ctx.http().get("/no-such-file.json").set("Accept", "application/json");
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
  });
});

describe("the server without a dashboard build", () => {
  it("starts and explains at / how to build the dashboard, while the API works", async () => {
    const bare = await createTestContext({ SPYGLASS_WEB_DIR: path.join(webDir, "not-built") });
    try {
      const res = await bare.http().get("/").set("Accept", "text/html");
      expect(res.status).toBe(200);
      expect(res.text).toContain("the dashboard has not been built");
      expect(res.text).toContain("pnpm start");
      const ping = await bare.http().get("/api/v1/ping").set("Authorization", `Bearer ${bare.token}`);
      expect(ping.status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
