import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { DEFAULT_WEB_DIR } from "../../src/http/web.js";
import { chromiumAvailable, chromiumPath, launchChromium, watchPage } from "../../test/helpers/browser.js";
import { createTestContext, type TestContext } from "../../test/helpers/context.js";

// The dashboard as the browser test runs it (in-process server on PGlite, or PostgreSQL with
// DATABASE_URL; the built apps/web), for the UI bench and the README screenshots.

export interface Harness {
  ctx: TestContext;
  baseUrl: string;
  browser: Browser;
  /** A page signed in with the admin token; `problems` collects console errors and foreign requests. */
  signedInPage(options?: { width?: number; height?: number; dark?: boolean }): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  if (!chromiumAvailable) throw new Error(`no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const ctx = await createTestContext({ SPYGLASS_WEB_DIR: DEFAULT_WEB_DIR });
  const server: Server = ctx.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  return {
    ctx,
    baseUrl,
    browser,
    async signedInPage({ width = 1440, height = 900, dark = false } = {}) {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme: dark ? "dark" : "light", deviceScaleFactor: 1 });
      const page = await context.newPage();
      const { problems } = watchPage(page, baseUrl);
      await page.goto(`${baseUrl}/`);
      await page.getByLabel("API token", { exact: true }).fill(ctx.token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Runs" }).waitFor();
      return { page, problems };
    },
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      await ctx.close();
    },
  };
}
