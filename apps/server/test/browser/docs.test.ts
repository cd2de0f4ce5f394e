import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable as available, chromiumPath, launchChromium } from "../helpers/browser.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

if (!available && process.env.CI) throw new Error(`Chromium not found at ${chromiumPath}; CI must install it`);

let ctx: TestContext;
let server: Server;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  if (!available) return;
  ctx = await createTestContext();
  server = ctx.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await ctx?.close();
});

describe.skipIf(!available)("GET /docs in a real browser", () => {
  it("renders the API reference from the served spec without loading anything from elsewhere", async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on("request", (req) => {
      if (!req.url().startsWith(baseUrl) && !req.url().startsWith("data:")) foreign.push(req.url());
    });
    // Anything the page's CSP blocks is reported on the console.
    const blocked: string[] = [];
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) blocked.push(msg.text());
    });
    await page.goto(`${baseUrl}/docs`);
    await page.getByText("Spyglass API", { exact: false }).first().waitFor({ timeout: 20_000 });
    await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
    const operations = await page.locator(".opblock-summary-path").allTextContents();
    expect(operations.some((p) => p.includes("/api/v1/agent_spans"))).toBe(true);
    expect(operations.some((p) => p.includes("/api/v1/ping"))).toBe(true);
    expect(foreign).toEqual([]);
    expect(blocked).toEqual([]);
    // Authorizing must not leave the token in localStorage (persistAuthorization is off).
    await page.locator("button.authorize").first().click();
    await page.locator(".modal-ux input").first().fill("sg_secret_token_for_docs_test");
    await page.locator(".modal-ux button.authorize").first().click();
    const stored = await page.evaluate<string>("JSON.stringify(Object.entries(window.localStorage))");
    expect(stored).not.toContain("sg_secret_token_for_docs_test");
    expect(blocked).toEqual([]);
    await page.close();
  });
});
