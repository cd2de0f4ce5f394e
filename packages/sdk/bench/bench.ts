// The SDK's own cost on the agent's side: µs per span, the slowdown of a loop of 100,000 small
// spans, and memory while the server is down. `pnpm bench:sdk [--spans N] [--work-us N]`.
// The server side is a sink in a child process that acknowledges every /bulk item at once, so
// what is measured is the agent's process: recording, batching, serializing and sending.
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Spyglass } from "../src/index.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SPANS = arg("spans", 100_000);
const WORK_US = arg("work-us", 100);
const ROUNDS = arg("rounds", 3);

if (process.argv[2] === "sink") {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { items?: { idempotency_key: string }[] };
      const outputs = Object.fromEntries((body.items ?? []).map((i) => [i.idempotency_key, { status: "success", details: {} }]));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "success", outputs }));
    });
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as AddressInfo).port));
} else {
  await main();
}

/** Busy work of about `us` microseconds: what a small real span (parsing, a cache hit) costs. */
function busy(us: number): number {
  const end = performance.now() + us / 1000;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}

/** Wall time and this process's CPU time (user + system) of `work`, in ms. */
async function timed(work: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

async function loop(body: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < SPANS; i++) await body(i);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The same loop bare and traced, alternating. Wall time is what the agent waits; CPU time is
 * what the SDK costs, and much less disturbed by other work on a shared machine. The traced CPU
 * includes the flush that follows the loop, so sending every span is paid for, not only recording.
 */
async function measure(baseUrl: string, workUs: number) {
  const work = async (i: number) => (workUs > 0 ? busy(workUs) : i);
  const rows: { bare: { wall: number; cpu: number }; traced: { wall: number; cpu: number }; flush: { wall: number; cpu: number } }[] = [];
  let stats;
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await timed(() => loop(work));
    // A queue that holds everything: dropping would be cheaper than sending and flatter the figure.
    const sg = new Spyglass({ baseUrl, token: "bench", agent: "bench", maxQueueSize: SPANS * 2 });
    const traced = await timed(() => sg.run((run) => loop((i) => run.span({ type: "tool" }, () => work(i)))));
    const flush = await timed(() => sg.flush());
    stats = sg.stats();
    await sg.shutdown();
    rows.push({ bare, traced, flush });
  }
  const bareWall = median(rows.map((r) => r.bare.wall));
  const tracedWall = median(rows.map((r) => r.traced.wall));
  const bareCpu = median(rows.map((r) => r.bare.cpu));
  const sdkCpu = median(rows.map((r) => r.traced.cpu + r.flush.cpu - r.bare.cpu));
  return {
    bareWall,
    tracedWall,
    wallUs: ((tracedWall - bareWall) * 1000) / SPANS,
    wallPct: ((tracedWall - bareWall) / bareWall) * 100,
    cpuUs: (sdkCpu * 1000) / SPANS,
    cpuPct: (sdkCpu / bareCpu) * 100,
    flushMs: median(rows.map((r) => r.flush.wall)),
    stats,
  };
}

async function main() {
  const sink: ChildProcess = fork(new URL(import.meta.url).pathname, ["sink"], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => sink.once("message", (m) => resolve(m as number)));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    console.log(`SDK cost on the agent's side, ${SPANS.toLocaleString()} spans in one run, median of ${ROUNDS} rounds`);
    // Figures scale with how busy the machine is: say so next to them.
    console.log(`  Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}`);
    const empty = await measure(baseUrl, 0);
    console.log(
      `  SDK cost per span:  ${empty.cpuUs.toFixed(2)} µs CPU (recording, batching, serializing, sending), ${empty.wallUs.toFixed(2)} µs wall ` +
        `[empty spans: bare loop ${empty.bareWall.toFixed(0)} ms, traced ${empty.tracedWall.toFixed(0)} ms, then flush ${empty.flushMs.toFixed(0)} ms; sent ${empty.stats?.sent}, dropped ${empty.stats?.dropped}]`,
    );
    const small = await measure(baseUrl, WORK_US);
    console.log(
      `  ${SPANS.toLocaleString()}-span loop: slowdown ${small.cpuPct.toFixed(2)} % CPU, ${small.wallPct.toFixed(2)} % wall ` +
        `[spans of ${WORK_US} µs work: bare ${small.bareWall.toFixed(0)} ms, traced ${small.tracedWall.toFixed(0)} ms; sent ${small.stats?.sent}, dropped ${small.stats?.dropped}]`,
    );
  } finally {
    sink.kill();
  }

  // Server down: a port nobody listens on; the default cap (10,000 items) bounds what is held.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const down = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  gc();
  const before = process.memoryUsage();
  const sg = new Spyglass({ baseUrl: `http://127.0.0.1:${down}`, agent: "bench", initialRetryDelayMs: 50, maxRetryDelayMs: 200 });
  const payload = { query: "x".repeat(200) };
  const { wall: downMs } = await timed(() => sg.run((run) => loop((i) => run.span({ type: "tool", input: payload }, async () => ({ i })))));
  await new Promise((r) => setTimeout(r, 2000));
  gc();
  const after = process.memoryUsage();
  const s = sg.stats();
  await sg.shutdown(100);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    `  server down:        ${SPANS.toLocaleString()} spans with 200-byte inputs in ${downMs.toFixed(0)} ms; held ${s.queued.toLocaleString()} items, dropped ${s.dropped.toLocaleString()}, ` +
      `${s.retries} retries; heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)}, RSS ${mb(before.rss)} → ${mb(after.rss)}`,
  );
}
