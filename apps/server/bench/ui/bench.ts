/// <reference lib="dom" />
// pnpm bench:ui — seeds runs of 200, 2,000 and 10,000 spans, opens each in headless Chromium and
// prints the time to the first painted waterfall row and how many span rows the DOM holds while
// scrolled (the waterfall is virtualized: a few hundred at most, whatever the run's size).
import { seedClient, seedLargeTrace } from "../../test/helpers/dashboard-seed.js";
import { startHarness } from "./harness.js";

const SIZES = [200, 2_000, 10_000];
const PAINT_TARGET_MS = 1_500;
const ROW_LIMIT = 300;
const REPEATS = 3;

const harness = await startHarness();
try {
  const client = seedClient(harness.baseUrl, harness.ctx.token);
  const runs: { size: number; id: string }[] = [];
  for (const size of SIZES) {
    const started = performance.now();
    runs.push({ size, id: await seedLargeTrace(client, `bench-${size}`, size) });
    console.error(`seeded a ${size.toLocaleString()}-span run in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const { page, problems } = await harness.signedInPage();
  const rows: string[][] = [];
  let failed = false;
  for (const run of runs) {
    const paints: number[] = [];
    let maxRows = 0;
    let scrollFrameMs = 0;
    for (let i = 0; i < REPEATS; i++) {
      // A fresh document each time: load, parse, fetch every span page, build the tree, paint.
      await page.goto(`${harness.baseUrl}/runs/${run.id}`);
      await page.waitForFunction(() => document.querySelector('[role="treeitem"]') !== null, undefined, { timeout: 30_000, polling: "raf" });
      paints.push(await page.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())))));
      // (No named functions inside: tsx would wrap them in a helper the page does not have.)
      // A fast flick (600 px a frame for 60 frames: what a wheel or trackpad does), then jumps to
      // 40 points down the whole run; rows in the DOM counted after every frame.
      const scrolled = await page.evaluate(async () => {
        const box = document.querySelector(".wf-scroll") as HTMLElement;
        let most = 0;
        const frames: number[] = [];
        for (let step = 1; step <= 60; step++) {
          const before = performance.now();
          box.scrollTop += 600;
          await new Promise((r) => requestAnimationFrame(r));
          frames.push(performance.now() - before);
          most = Math.max(most, document.querySelectorAll('[role="treeitem"]').length);
        }
        for (let step = 1; step <= 40; step++) {
          box.scrollTop = (box.scrollHeight * step) / 40;
          await new Promise((r) => requestAnimationFrame(r));
          most = Math.max(most, document.querySelectorAll('[role="treeitem"]').length);
        }
        frames.sort((a, b) => a - b);
        return { most, p95Frame: frames[Math.floor(frames.length * 0.95)]! };
      });
      maxRows = Math.max(maxRows, scrolled.most);
      scrollFrameMs = Math.max(scrollFrameMs, scrolled.p95Frame);
    }
    paints.sort((a, b) => a - b);
    const median = paints[Math.floor(paints.length / 2)]!;
    const ok = median <= PAINT_TARGET_MS && maxRows <= ROW_LIMIT;
    failed ||= !ok;
    rows.push([
      run.size.toLocaleString(),
      `${Math.round(median)} ms`,
      `${Math.round(paints[0]!)}–${Math.round(paints[paints.length - 1]!)} ms`,
      String(maxRows),
      `${scrollFrameMs.toFixed(1)} ms`,
      ok ? "ok" : "MISSED",
    ]);
  }
  const head = ["spans", "first paint (median)", "range", "rows in DOM (max, scrolling)", "p95 frame, 600 px/frame flick", `target ≤ ${PAINT_TARGET_MS} ms, ≤ ${ROW_LIMIT} rows`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\nDashboard waterfall, headless Chromium, ${REPEATS} loads each (time from navigation start):\n`);
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  rows.forEach((r) => console.log(line(r)));
  if (problems.length) {
    console.error(`\nbrowser problems:\n${problems.join("\n")}`);
    failed = true;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  await harness.close();
}
