import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AvAgentComparisonSchema,
  AvAgentDetailSchema,
  AvAgentListResponseSchema,
  AvAgentStatsSchema,
  AvCompareAgentsResponseSchema,
  AvErrorSchema,
  AvOutcomeResponseSchema,
  AvTraceBatchResponseSchema,
  AvTraceListResponseSchema,
  type AvAgentComparison,
} from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avError, avKey, bearer } from "../helpers/agentvista.js";

let ctx: TestContext;
let readKey: string;
const DAY = 86_400_000;
const NOW = Date.now();

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generated data set: two agents, runs spread over 120 days, every status and signal. */
function generate(agent: string, count: number, seed: number) {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const items = [];
  for (let n = 0; n < count; n++) {
    const traceId = randomUUID();
    // whole days back plus a margin of hours, so no run sits on a window's edge
    const startedAt = new Date(NOW - Math.floor(random() * 120) * DAY - (2 + Math.floor(random() * 20)) * 3_600_000);
    const status = pick(["completed", "completed", "completed", "failed", "timed_out", "running"] as const);
    const duration = Math.floor(random() * 20_000);
    const spans = Array.from({ length: Math.floor(random() * 4) }, (_, i) => ({
      span_id: randomUUID(),
      trace_id: traceId,
      type: pick(["llm", "llm", "tool"]),
      name: `step ${i}`,
      status: status === "running" ? "running" : "completed",
      started_at: new Date(startedAt.getTime() + i * 10).toISOString(),
      input_tokens: Math.floor(random() * 2000),
      output_tokens: Math.floor(random() * 500),
      cost_usd: (Math.floor(random() * 5_000_000) / 1e6).toFixed(6),
    }));
    const explicit = random() < 0.2;
    items.push({
      trace: {
        trace_id: traceId,
        agent,
        status,
        started_at: startedAt.toISOString(),
        ...(status === "running" ? {} : { duration_ms: duration }),
        ...(random() < 0.7 ? { success: random() < 0.6 } : {}),
        ...(random() < 0.6 ? { outcome: pick(["qualified", "rejected", "escalated"]) } : {}),
        ...(explicit ? { total_tokens: Math.floor(random() * 10_000), total_cost_usd: Math.floor(random() * 9_000_000) / 1e6 } : {}),
      },
      spans,
    });
  }
  return items;
}

async function ingestAll(items: { spans: unknown[] }[]) {
  let batch: typeof items = [];
  let spans = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: batch });
    expect(AvTraceBatchResponseSchema.parse(res.body)).toMatchObject({ accepted: batch.length, rejected: 0 });
    batch = [];
    spans = 0;
  };
  for (const item of items) {
    if (spans + item.spans.length > 100 || batch.length === 100) await flush();
    batch.push(item);
    spans += item.spans.length;
  }
  await flush();
}

const micros = (d: { toFixed(n: number): string } | null) => (d === null ? 0 : Math.round(Number(d.toFixed(6)) * 1e6));

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The comparison figures, computed here from the raw rows. */
async function expectedStats(agentId: string, days?: number): Promise<Omit<AvAgentComparison, "name">> {
  const rows = await ctx.db.prisma.agentInstance.findMany({ where: { accountId: ctx.accountId, agentId } });
  const since = days === undefined ? -Infinity : NOW - days * DAY;
  const runs = rows.filter((r) => (r.startedAt ?? r.insertedAt).getTime() >= since);
  const completed = runs.filter((r) => r.status === "complete");
  const failed = runs.filter((r) => ["failed", "cancelled", "terminated"].includes(r.status));
  const successful = runs.filter((r) => r.success === true).length;
  const unsuccessful = runs.filter((r) => r.success === false).length;
  const durations = completed.filter((r) => r.durationMs !== null).map((r) => Number(r.durationMs)).sort((a, b) => a - b);
  const totalCostMicros = runs.reduce((s, r) => s + micros(r.totalCostUsd), 0);
  const completedCostMicros = completed.reduce((s, r) => s + micros(r.totalCostUsd), 0);
  const totalTokens = runs.reduce((s, r) => s + Number(r.totalTokens ?? 0n), 0);
  const outcomes: Record<string, number> = {};
  for (const r of runs) if (r.outcome !== null) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  return {
    agent_id: agentId,
    total_runs: runs.length,
    completed_runs: completed.length,
    failed_runs: failed.length,
    successful_runs: successful,
    unsuccessful_runs: unsuccessful,
    success_rate: successful + unsuccessful === 0 ? null : (100 * successful) / (successful + unsuccessful),
    error_rate: runs.length === 0 ? 0 : (100 * failed.length) / runs.length,
    total_cost: totalCostMicros / 1e6,
    avg_cost_per_run: completed.length === 0 ? null : completedCostMicros / 1e6 / completed.length,
    avg_duration_ms: durations.length === 0 ? null : durations.reduce((a, b) => a + b, 0) / durations.length,
    p50_duration_ms: percentile(durations, 0.5),
    p95_duration_ms: percentile(durations, 0.95),
    total_tokens: totalTokens,
    avg_tokens_per_run: runs.length === 0 ? null : totalTokens / runs.length,
    outcomes,
  };
}

function expectClose(actual: AvAgentComparison, expected: Omit<AvAgentComparison, "name">) {
  for (const [key, value] of Object.entries(expected)) {
    const got = actual[key as keyof AvAgentComparison];
    if (typeof value === "number" && !Number.isInteger(value)) {
      expect(got, key).toBeTypeOf("number");
      expect(got as number, key).toBeCloseTo(value, 5);
    } else {
      expect(got, key).toEqual(value);
    }
  }
}

let agentA: string;
let agentB: string;

beforeAll(async () => {
  ctx = await createTestContext();
  readKey = await avKey(ctx, ["read"]);
  await ingestAll([...generate("alpha", 60, 1), ...generate("beta", 45, 2)]);
  const agents = await ctx.db.prisma.agent.findMany({ where: { accountId: ctx.accountId } });
  agentA = agents.find((a) => a.name === "alpha")!.id;
  agentB = agents.find((a) => a.name === "beta")!.id;
});
afterAll(async () => {
  await ctx?.close();
});

const compare = async (query: Record<string, string>) => {
  const res = await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query(query).set(bearer(readKey));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return AvCompareAgentsResponseSchema.parse(res.body).agents;
};

describe("stored totals", () => {
  it("equal the sums over llm spans unless reported", async () => {
    const instances = await ctx.db.prisma.agentInstance.findMany({ where: { accountId: ctx.accountId } });
    const spans = await ctx.db.prisma.span.findMany({ where: { accountId: ctx.accountId, schemaName: "llm" } });
    for (const i of instances) {
      const own = spans.filter((s) => s.agentInstanceId === i.id);
      if (!i.costExplicit) expect(micros(i.totalCostUsd)).toBe(own.reduce((s, x) => s + micros(x.costUsd), 0));
      if (!i.tokensExplicit) expect(Number(i.totalTokens ?? 0n)).toBe(own.reduce((s, x) => s + (x.totalTokens ?? 0), 0));
      if (own.length === 0 && !i.costExplicit) expect(i.totalCostUsd).toBeNull();
    }
    expect(instances.some((x) => x.tokensExplicit || x.costExplicit)).toBe(true);
  });
});

describe("GET /dashboard/traces/compare-agents", () => {
  it("matches figures computed from the raw rows, all time and per window, in request order", async () => {
    const all = await compare({ agent_a: agentA, agent_b: agentB });
    expect(all.map((a) => a.name)).toEqual(["alpha", "beta"]);
    expectClose(all[0]!, await expectedStats(agentA));
    expectClose(all[1]!, await expectedStats(agentB));
    for (const days of [7, 30, 90]) {
      const windowed = await compare({ agent_a: agentB, agent_b: agentA, days: String(days) });
      expect(windowed.map((a) => a.agent_id)).toEqual([agentB, agentA]);
      expectClose(windowed[0]!, await expectedStats(agentB, days));
      expectClose(windowed[1]!, await expectedStats(agentA, days));
    }
  });

  it("accepts agent names, and reflects a changed outcome", async () => {
    const [before] = await compare({ agent_a: "alpha", agent_b: "beta" });
    const list = AvTraceListResponseSchema.parse(
      (await ctx.http().get("/api/v1/dashboard/traces").query({ agent: "alpha", page_size: 100 }).set(bearer(readKey)).expect(200)).body,
    );
    const target = list.results.find((t) => t.success !== false)!;
    const patched = await ctx
      .http()
      .patch(`/api/v1/dashboard/traces/${target.trace_id}/outcome`)
      .set(bearer(ctx.token))
      .send({ success: false, outcome: "churned" })
      .expect(200);
    AvOutcomeResponseSchema.parse(patched.body);
    const [after] = await compare({ agent_a: "alpha", agent_b: "beta" });
    expect(after!.unsuccessful_runs).toBe(before!.unsuccessful_runs + 1);
    expect(after!.successful_runs).toBe(before!.successful_runs - (target.success === true ? 1 : 0));
    expect(after!.outcomes.churned).toBe(1);
    expectClose(after!, await expectedStats(agentA));
  });

  it("shows an agent without runs with zeros and nulls", async () => {
    await ctx.services.catalog.findOrCreateAgentByName(await ctx.services.accounts.authenticate(ctx.token), "idle");
    const [idle] = await compare({ agent_a: "idle", agent_b: "alpha" });
    expect(AvAgentComparisonSchema.parse(idle)).toMatchObject({
      name: "idle",
      total_runs: 0,
      success_rate: null,
      error_rate: 0,
      total_cost: 0,
      avg_cost_per_run: null,
      p50_duration_ms: null,
      avg_tokens_per_run: null,
      outcomes: {},
    });
  });

  it("is 400 without both agents or with another window, 404 for an agent not the caller's", async () => {
    for (const query of [{ agent_a: agentA }, { agent_b: agentB }, { agent_a: agentA, agent_b: agentB, days: "14" }]) {
      const res = await ctx.http().get("/api/v1/dashboard/traces/compare-agents/").query(query).set(bearer(readKey));
      expect(res.status).toBe(400);
      AvErrorSchema.parse(res.body);
    }
    const other = await ctx.newAccount("rival");
    const theirs = await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query({ agent_a: agentA, agent_b: agentB }).set(bearer(other.token));
    expect(theirs.status).toBe(404);
    AvErrorSchema.parse(theirs.body);
    const unknown = await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query({ agent_a: agentA, agent_b: "nobody" }).set(bearer(readKey));
    avError(unknown, 404);
  });
});

describe("GET /agents", () => {
  it("lists every agent with all-time figures", async () => {
    const res = await ctx.http().get("/api/v1/agents/").set(bearer(readKey)).expect(200);
    const agents = AvAgentListResponseSchema.parse(res.body);
    expect(agents.map((a) => a.name)).toEqual(["alpha", "beta", "idle"]);
    const expected = await expectedStats(agentA);
    const alpha = agents[0]!;
    expect(alpha.total_runs).toBe(expected.total_runs);
    expect(alpha.success_rate).toBeCloseTo(expected.success_rate!, 5);
    expect(alpha.total_cost).toBeCloseTo(expected.total_cost, 6);
    expect(alpha.avg_cost_per_run).toBeCloseTo(expected.avg_cost_per_run!, 5);
    const rows = await ctx.db.prisma.agentInstance.findMany({ where: { accountId: ctx.accountId, agentId: agentA } });
    const last = Math.max(...rows.map((r) => (r.startedAt ?? r.insertedAt).getTime()));
    expect(alpha.last_run_at).toBe(new Date(last).toISOString());
    expect(agents[2]).toMatchObject({ total_runs: 0, last_run_at: null, total_cost: 0 });
  });

  it("shows one agent with its run counts; 404 when not the caller's", async () => {
    const res = await ctx.http().get(`/api/v1/agents/${agentB}`).set(bearer(readKey)).expect(200);
    const agent = AvAgentDetailSchema.parse(res.body);
    const expected = await expectedStats(agentB);
    expect(agent).toMatchObject({ id: agentB, name: "beta", total_runs: expected.total_runs, successful_runs: expected.successful_runs, failed_runs: expected.failed_runs });
    const other = await ctx.newAccount("stranger");
    avError(await ctx.http().get(`/api/v1/agents/${agentB}`).set(bearer(other.token)), 404);
    avError(await ctx.http().get(`/api/v1/agents/${agentB}/stats`).set(bearer(other.token)), 404);
    avError(await ctx.http().get(`/api/v1/agents/${agentB}/runs`).set(bearer(other.token)), 404);
    avError(await ctx.http().get(`/api/v1/agents/nope`).set(bearer(readKey)), 404);
  });

  it("gives per-day figures for 7, 30 or 90 UTC days, zero-filled; other windows mean 7", async () => {
    const rows = await ctx.db.prisma.agentInstance.findMany({ where: { accountId: ctx.accountId, agentId: agentA } });
    const today = new Date(NOW).toISOString().slice(0, 10);
    for (const [asked, window] of [["30", 30], ["90", 90], ["7", 7], ["14", 7], [undefined, 7]] as const) {
      const req = ctx.http().get(`/api/v1/agents/${agentA}/stats/`).set(bearer(readKey));
      const res = await (asked ? req.query({ days: asked }) : req).expect(200);
      const stats = AvAgentStatsSchema.parse(res.body);
      expect(stats).toMatchObject({ agent_id: agentA, agent_name: "alpha", window });
      expect(stats.days).toHaveLength(window);
      expect(stats.days.at(-1)!.date).toBe(today);
      stats.days.forEach((d, i) => {
        expect(d.date).toBe(new Date(Date.parse(`${today}T00:00:00Z`) - (window - 1 - i) * DAY).toISOString().slice(0, 10));
        const dayRuns = rows.filter((r) => (r.startedAt ?? r.insertedAt).toISOString().slice(0, 10) === d.date);
        expect(d.total_runs, d.date).toBe(dayRuns.length);
        expect(d.successful_runs).toBe(dayRuns.filter((r) => r.success === true).length);
        expect(d.failed_runs).toBe(dayRuns.filter((r) => ["failed", "cancelled", "terminated"].includes(r.status)).length);
        expect(d.total_cost).toBeCloseTo(dayRuns.reduce((s, r) => s + micros(r.totalCostUsd), 0) / 1e6, 6);
        const durations = dayRuns.filter((r) => r.status === "complete" && r.durationMs !== null).map((r) => Number(r.durationMs)).sort((a, b) => a - b);
        if (durations.length === 0) {
          expect(d.avg_duration_ms).toBeNull();
          expect(d.p95_duration_ms).toBeNull();
        } else {
          expect(d.avg_duration_ms).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / durations.length, 5);
          expect(d.p95_duration_ms).toBeCloseTo(percentile(durations, 0.95)!, 5);
        }
      });
    }
  });

  it("pages through an agent's runs, newest first", async () => {
    const total = await ctx.db.prisma.agentInstance.count({ where: { accountId: ctx.accountId, agentId: agentB } });
    const seen: string[] = [];
    for (let page = 1; ; page++) {
      const res = await ctx.http().get(`/api/v1/agents/${agentB}/runs`).query({ page, page_size: 20 }).set(bearer(readKey)).expect(200);
      const body = AvTraceListResponseSchema.parse(res.body);
      expect(body.total).toBe(total);
      expect(body.results.every((r) => r.agent_id === agentB)).toBe(true);
      seen.push(...body.results.map((r) => r.started_at));
      if (!body.has_next) break;
    }
    expect(seen).toHaveLength(total);
    expect([...seen].sort().reverse()).toEqual(seen);
    avError(await ctx.http().get(`/api/v1/agents/${agentB}/runs`).query({ page_size: 500 }).set(bearer(readKey)), 400);
  });

  it("needs the read scope", async () => {
    const writeOnly = await avKey(ctx, ["write"]);
    for (const path of ["/api/v1/agents", `/api/v1/agents/${agentA}`, `/api/v1/agents/${agentA}/stats`, `/api/v1/agents/${agentA}/runs`]) {
      const res = await ctx.http().get(path).set(bearer(writeOnly));
      expect(res.status, path).toBe(403);
      AvErrorSchema.parse(res.body);
    }
    avError(await ctx.http().get("/api/v1/dashboard/traces/compare-agents").query({ agent_a: agentA, agent_b: agentB }).set(bearer(writeOnly)), 403);
  });
});
