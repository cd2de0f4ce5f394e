// pnpm docs:screenshots — PNGs of the runs list, a waterfall and the compare view for the README,
// taken from the running app on data sent through both dialects.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seedDashboard } from "../../test/helpers/dashboard-seed.js";
import { startHarness } from "./harness.js";

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs");

const harness = await startHarness();
try {
  const seed = await seedDashboard(harness.baseUrl, harness.ctx.token);
  const agents = (await (await fetch(`${harness.baseUrl}/api/v1/agents`, { headers: { Authorization: `Bearer ${harness.ctx.token}` } })).json()) as {
    id: string;
    name: string;
  }[];
  const idOf = (name: string) => agents.find((a) => a.name === name)!.id;
  const shots: { file: string; url: string; ready: string; dark?: boolean }[] = [
    { file: "dashboard-runs.png", url: "/runs", ready: "table.data tbody tr" },
    { file: "dashboard-waterfall.png", url: `/runs/${seed.avRunId}`, ready: '[role="treeitem"]' },
    { file: "dashboard-prefactor-span.png", url: `/runs/${seed.pfRunId}?span=${seed.invalidSpanId}`, ready: ".span-panel", dark: true },
    { file: "dashboard-compare.png", url: `/compare?a=${idOf(seed.avAgent)}&b=${idOf(seed.pfAgent)}`, ready: "table.compare" },
  ];
  for (const shot of shots) {
    const { page, problems } = await harness.signedInPage({ width: 1360, height: 820, dark: shot.dark });
    await page.goto(`${harness.baseUrl}${shot.url}`);
    await page.locator(shot.ready).first().waitFor();
    if (shot.file === "dashboard-waterfall.png") {
      await page.getByRole("treeitem", { name: /gpt-4o plan/ }).click();
      await page.locator(".span-panel").waitFor();
    }
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(docs, shot.file) });
    if (problems.length) throw new Error(`${shot.file}: ${problems.join("; ")}`);
    console.log(`wrote docs/${shot.file}`);
    await page.context().close();
  }
} finally {
  await harness.close();
}
