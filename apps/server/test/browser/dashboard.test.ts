import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AvTraceDetailSchema } from "@spyglass/contracts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_WEB_DIR } from "../../src/http/web.js";
import { chromiumAvailable, chromiumPath, launchChromium, watchPage } from "../helpers/browser.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { seedDashboard, type DashboardSeed } from "../helpers/dashboard-seed.js";

// The dashboard end to end: the real server listening on a real database (PGlite, or PostgreSQL
// with DATABASE_URL), data written through both dialects, Debian's Chromium driving the built UI.

if (!chromiumAvailable) {
  if (process.env.CI) throw new Error(`Chromium not found at ${chromiumPath}; CI must install it`);
  console.warn(`dashboard browser test SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
}
if (chromiumAvailable && !existsSync(`${DEFAULT_WEB_DIR}/index.html`)) {
  throw new Error(`the dashboard is not built (${DEFAULT_WEB_DIR}): run \`pnpm test\` from the repository root, or \`pnpm --filter @spyglass/web build\``);
}

let ctx: TestContext;
let server: Server;
let browser: Browser;
let baseUrl: string;
let seed: DashboardSeed;
let page: Page;
let problems: string[];

beforeAll(async () => {
  if (!chromiumAvailable) return;
  ctx = await createTestContext({ SPYGLASS_WEB_DIR: DEFAULT_WEB_DIR });
  server = ctx.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  seed = await seedDashboard(baseUrl, ctx.token);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  problems = watchPage(page, baseUrl).problems;
  page.setDefaultTimeout(15_000);
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await ctx?.close();
});

/** Drops the browser's own log lines for responses a step provokes on purpose (e.g. a 401). */
function expectLogged(status: number): void {
  const line = `the server responded with a status of ${status}`;
  expect(problems.some((p) => p.includes(line))).toBe(true);
  problems.splice(0, problems.length, ...problems.filter((p) => !p.includes(line)));
}

const api = (path: string, token = ctx.token) => fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });

describe.skipIf(!chromiumAvailable)("the dashboard in Chromium", () => {
  it("signs in with an API token, refusing a wrong one", async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByLabel("API token", { exact: true }).fill("sg_wrong_token_000000000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "This token is not valid." }).waitFor();
    expectLogged(401);
    await page.getByLabel("API token", { exact: true }).fill(ctx.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('spyglass.token')")).toBe(ctx.token);
    expect(await page.evaluate("localStorage.length")).toBe(0);
  });

  it("lists runs from both dialects and filters them, every filter in the URL", async () => {
    const rows = page.locator("table.data tbody tr");
    await expect.poll(() => rows.count()).toBe(6);
    await expect.poll(() => page.getByRole("link", { name: "support-bot", exact: true }).count()).toBe(2);
    await page.getByLabel("Agent", { exact: true }).selectOption(seed.avAgent);
    await page.waitForURL(/agent=lead-qualifier/);
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByLabel("Status", { exact: true }).selectOption("failed");
    await page.waitForURL(/status=failed/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("enrichment failed");
    expect(await rows.first().textContent()).toContain("4.2 s");

    // A link reproduces the view.
    await page.goto(`${baseUrl}/runs?agent=${seed.pfAgent}&status=running`);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByLabel("Status", { exact: true }).inputValue()).toBe("running");
    await page.goto(`${baseUrl}/runs?q=no-such-run-anywhere`);
    await page.getByText("No run matches these filters.").waitFor();
  });

  it("opens a run and reads its waterfall: a keyboard-driven ARIA tree, the failed span, payloads", async () => {
    await page.goto(`${baseUrl}/runs?agent=${seed.avAgent}&status=failed`);
    await page.getByRole("link", { name: new RegExp(`Open run ${seed.avRunId}`) }).click();
    await page.waitForURL(new RegExp(`/runs/${seed.avRunId}`));
    const tree = page.getByRole("tree");
    const root = tree.getByRole("treeitem", { name: /qualify lead/ });
    await root.waitFor();
    expect(await root.getAttribute("aria-level")).toBe("1");
    expect(await root.getAttribute("aria-expanded")).toBe("true");
    const plan = tree.getByRole("treeitem", { name: /gpt-4o plan/ });
    expect(await plan.getAttribute("aria-level")).toBe("2");

    // Keyboard: focus selects the first span, ← folds it, → unfolds, ↓ moves to the child.
    await tree.focus();
    await expect.poll(() => root.getAttribute("aria-selected")).toBe("true");
    await page.keyboard.press("ArrowLeft");
    await expect.poll(() => root.getAttribute("aria-expanded")).toBe("false");
    await expect.poll(() => plan.count()).toBe(0);
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => root.getAttribute("aria-expanded")).toBe("true");
    await page.keyboard.press("ArrowDown");
    await expect.poll(() => plan.getAttribute("aria-selected")).toBe("true");
    await page.waitForURL(/span=/);
    const panel = page.getByRole("complementary");
    await panel.getByRole("heading", { name: "gpt-4o plan" }).waitFor();
    expect(await panel.textContent()).toContain("Acme Corp, 40 seats, wants SSO.");
    expect(await panel.textContent()).toContain("$0.0034");
    expect(await panel.getByRole("group", { name: "Result JSON" }).textContent()).toContain("Look up Acme in the CRM");

    // The failed tool call is unmistakable, and its error is shown.
    const failed = tree.getByRole("treeitem", { name: /enrich company, tool, failed/ });
    expect(await failed.getAttribute("class")).toContain("is-failed");
    await failed.click();
    await panel.getByRole("heading", { name: "enrich company" }).waitFor();
    expect(await panel.getByRole("region", { name: "Error" }).textContent()).toContain("enrichment API: 503 Service Unavailable");
  });

  it("saves an outcome that the API then returns", async () => {
    await page.getByRole("radio", { name: "Success" }).check();
    await page.getByLabel("Outcome", { exact: true }).fill("qualified after retry");
    await page.getByRole("button", { name: "Save outcome" }).click();
    await page.getByText("Saved.").waitFor();
    const detail = AvTraceDetailSchema.parse(await (await api(`/api/v1/dashboard/traces/${seed.avRunId}`)).json());
    expect(detail.success).toBe(true);
    expect(detail.outcome).toBe("qualified after retry");
    await page.locator(".run-head .facts").getByText("qualified after retry").waitFor();
  });

  it("shows a Prefactor run's summaries and validation verdicts, opening a linked span", async () => {
    await page.goto(`${baseUrl}/runs/${seed.pfRunId}?span=${seed.invalidSpanId}`);
    const panel = page.getByRole("complementary");
    const validation = panel.getByRole("region", { name: "Validation" });
    await validation.getByText("invalid (1)").waitFor();
    expect(await validation.textContent()).toMatch(/payload.*model/);
    const tree = page.getByRole("tree");
    const invalidRow = tree.getByRole("treeitem", { name: /schema violation/ });
    expect(await invalidRow.getAttribute("aria-selected")).toBe("true");
    const valid = tree.getByRole("treeitem", { name: /gpt-4o: Hi → Hello! How can I help\?/ });
    await valid.click();
    await panel.getByLabel("Summary").getByText("gpt-4o: Hi → Hello! How can I help?").waitFor();
    await validation.getByText("valid", { exact: true }).waitFor();
    expect(await panel.getByRole("group", { name: "Payload JSON" }).textContent()).toContain("temperature");
    // The tool span nests under the llm span that started it.
    expect(await tree.getByRole("treeitem", { name: /^tool/ }).getAttribute("aria-level")).toBe("2");
  });

  it("terminates a running run with a reason", async () => {
    await page.goto(`${baseUrl}/runs/${seed.pfRunningId}`);
    await page.getByRole("button", { name: "Terminate", exact: true }).click();
    const confirm = page.getByRole("button", { name: "Terminate run" });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel("Reason").fill("stuck waiting on a tool");
    await confirm.click();
    await expect.poll(async () => ((await (await api(`/api/v1/agent_instance/${seed.pfRunningId}`)).json()) as { details: { status: string } }).details.status).toBe("terminated");
    await page.getByRole("button", { name: "Terminate", exact: true }).waitFor({ state: "detached" });
  });

  it("compares two agents, marking the better value of each row", async () => {
    await page.getByRole("link", { name: "Compare" }).click();
    const agents = (await (await api("/api/v1/agents")).json()) as { id: string; name: string }[];
    await page.getByLabel("Agent A").selectOption({ label: seed.avAgent });
    await page.getByLabel("Agent B").selectOption({ label: seed.pfAgent });
    await page.waitForURL(new RegExp(`a=${agents.find((a) => a.name === seed.avAgent)!.id}`));
    const table = page.locator("table.compare");
    await table.waitFor();
    expect(await table.locator("thead").textContent()).toContain(seed.pfAgent);
    const runsRow = table.getByRole("row", { name: /^Runs/ });
    expect(await runsRow.textContent()).toMatch(/Runs\s*4\s*2/);
    expect(await table.locator("td.better").count()).toBeGreaterThan(0);
    await page.getByRole("heading", { name: `Outcomes of ${seed.avAgent}` }).waitFor();
    expect(await page.getByText("qualified after retry").count()).toBeGreaterThan(0);
    await page.getByLabel("Window").selectOption("7");
    await page.waitForURL(/days=7/);
  });

  it("creates a token, shows its secret once, and revokes it", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByLabel("Token name").fill("e2e reader");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.getByTestId("new-secret").textContent())!.trim();
    expect(secret).toMatch(/^av_/);
    await page.getByRole("button", { name: "Copy" }).waitFor();
    expect((await api("/api/v1/dashboard/traces/", secret)).status).toBe(200);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Revoke e2e reader" }).click();
    await page.getByRole("row", { name: /e2e reader/ }).getByText("revoked").waitFor();
    expect((await api("/api/v1/dashboard/traces/", secret)).status).toBe(401);
  });

  it("returns to the sign-in form with a message when the token stops working", async () => {
    const created = await fetch(`${baseUrl}/api/v1/me/api-keys/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ctx.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "short-lived", scopes: ["read"] }),
    });
    const { id, key } = (await created.json()) as { id: string; key: string };
    await page.getByRole("link", { name: "Runs" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token", { exact: true }).fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    await fetch(`${baseUrl}/api/v1/me/api-keys/${id}/`, { method: "DELETE", headers: { Authorization: `Bearer ${ctx.token}` } });
    await page.reload();
    await page.getByText("The server no longer accepts this token (401). Sign in again.").waitFor();
    expect(await page.evaluate("sessionStorage.getItem('spyglass.token')")).toBeNull();
    expectLogged(401);
  });

  it("signs out, forgetting the token", async () => {
    await page.getByLabel("API token", { exact: true }).fill(ctx.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('spyglass.token')")).toBeNull();
    await page.reload();
    await page.getByLabel("API token", { exact: true }).waitFor();
  });

  it("logged no console error and requested nothing from another origin", () => {
    expect(problems).toEqual([]);
  });
});
