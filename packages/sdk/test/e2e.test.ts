import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSpyglassClient, type SpyglassClient } from "@spyglass/client";
import { freePort, spawnServer, waitReady, type RunningServer } from "../../../apps/server/test/helpers/process.js";
import { Spyglass, type SpyglassError } from "../src/index.js";

// The real server as a user runs it (a child process on a port), on PGlite by default and on a
// fresh PostgreSQL database when DATABASE_URL is set.
const TOKEN = "sdk-e2e-admin-token-0123456789";
let server: RunningServer;
let serverEnv: Record<string, string>;
let client: SpyglassClient;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  const env: Record<string, string> = { SPYGLASS_ADMIN_TOKEN: TOKEN };
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `spyglass_sdk_e2e_${process.pid}`;
    execFileSync("psql", [base, "-qc", `CREATE DATABASE ${name}`]);
    cleanup.push(() => execFileSync("psql", [base, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]));
    const url = new URL(base);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), "spyglass-sdk-e2e-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    env.SPYGLASS_DATA_DIR = dir;
  }
  serverEnv = env;
  server = spawnServer(env, await freePort());
  await waitReady(server, 110_000);
  client = createSpyglassClient({ baseUrl: server.baseUrl, token: TOKEN });
}, 120_000);

afterAll(async () => {
  if (server) {
    server.child.kill("SIGTERM");
    await server.exited;
  }
  for (const step of cleanup.reverse()) step();
});

const spanTypes = [
  {
    name: "llm",
    title: "LLM call",
    paramsSchema: { type: "object", properties: { prompt: { type: "string" } }, required: ["prompt"], additionalProperties: false },
    resultSchema: { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false },
    template: "{{ prompt }} → {{ answer }}",
  },
  { name: "tool", paramsSchema: { type: "object", properties: { query: { type: "string" } } }, template: "search {{ query }}: {{ hits | size }} hits" },
];

async function spansOf(runId: string) {
  const { data, error } = await client.GET("/api/v1/agent_spans", {
    params: { query: { agent_instance_id: runId, include_summaries: "true", "pagination[page_size]": 100 } as never },
  });
  expect(error).toBeUndefined();
  return data!.summaries;
}

describe("the SDK against a listening Spyglass server", () => {
  it("records runs, nested spans with their parents, usage, cost, failures, outcomes, validation verdicts and summaries", async () => {
    const errors: SpyglassError[] = [];
    const sg = new Spyglass({
      baseUrl: server.baseUrl,
      token: TOKEN,
      agent: "sdk-e2e-agent",
      version: "2.1.0",
      spanTypes,
      flushIntervalMs: 50,
      onError: (e) => errors.push(e),
    });
    let okRun = "";
    const answer = await sg.run(async (run) => {
      okRun = run.id;
      const result = await run.span({ type: "agent", name: "plan" }, async () => {
        const [llm, tool] = await Promise.all([
          run.span({ type: "llm", input: { prompt: "What is 2+2?" } }, async (span) => {
            span.setUsage({ model: "gpt-4o-mini", inputTokens: 12, outputTokens: 3, costUsd: "0.000450" });
            return { answer: "4" };
          }),
          run.span({ type: "tool", input: { query: "arithmetic" } }, async () => {
            await new Promise((r) => setTimeout(r, 5));
            return { hits: ["a", "b", "c"] };
          }),
        ]);
        // Invalid on purpose: the prompt must be a string and the result needs an answer.
        await run.span({ type: "llm", input: { prompt: 42 } }, async () => ({ wrong: true }));
        await run.span({ type: "tool", input: { query: "flaky" } }, async () => {
          throw new Error("search backend timed out");
        }).catch(() => undefined);
        return `${llm.answer}/${tool.hits.length}`;
      });
      run.setOutcome({ success: true, outcome: "answered" });
      return result;
    });
    expect(answer).toBe("4/3");

    let failedRun = "";
    const failure = new Error("the agent gave up");
    await expect(
      sg.run(async (run) => {
        failedRun = run.id;
        await run.span({ type: "agent", name: "doomed" }, () => run.span({ type: "tool", input: { query: "x" } }, () => Promise.reject(failure)));
      }),
    ).rejects.toBe(failure);

    await sg.shutdown();
    expect(errors).toEqual([]);
    expect(sg.stats()).toMatchObject({ queued: 0, dropped: 0, failed: 0 });

    // The run, through the Prefactor API
    const { data: run } = await client.GET("/api/v1/agent_instance/{id}", { params: { path: { id: okRun } } });
    expect(run?.details).toMatchObject({ id: okRun, status: "complete", success: true, outcome: "answered" });
    expect(run?.details.span_counts).toMatchObject({ total: 5, complete: 4, failed: 1 });

    const spans = await spansOf(okRun);
    const byKey = (type: string, key: string, value: unknown) =>
      spans.find((s) => s.schema_name === type && (s.payload as Record<string, unknown>)[key] === value)!;
    const root = spans.find((s) => s.schema_name === "agent")!;
    const good = byKey("llm", "prompt", "What is 2+2?");
    const bad = byKey("llm", "prompt", 42);
    const search = byKey("tool", "query", "arithmetic");
    const flaky = byKey("tool", "query", "flaky");
    expect(root).toMatchObject({ parent_span_id: null, status: "complete", payload: { name: "plan" }, result_payload: { value: "4/3" } });
    for (const child of [good, bad, search, flaky]) expect(child.parent_span_id).toBe(root.id);

    expect(good).toMatchObject({
      status: "complete",
      schema_title: "LLM call",
      summary: "What is 2+2? → 4",
      payload_validation: { status: "valid", errors: [] },
      result_payload: { answer: "4", model: "gpt-4o-mini", usage: { input_tokens: 12, output_tokens: 3, cost_usd: "0.000450" } },
    });
    expect(bad.payload_validation.status).toBe("invalid");
    expect(bad.payload_validation.errors.map((e) => [e.target, e.path])).toEqual(
      expect.arrayContaining([
        ["payload", "prompt"],
        ["result_payload", ""],
      ]),
    );
    expect(search).toMatchObject({ status: "complete", summary: "search arithmetic: 3 hits", payload_validation: { status: "valid" } });
    expect(flaky).toMatchObject({ status: "failed", result_payload: { error: "search backend timed out" } });

    // The same run as an AgentVista trace: the waterfall's parents and the outcome
    const { data: trace } = await client.GET("/api/v1/dashboard/traces/{trace_id}", { params: { path: { trace_id: okRun } } });
    expect(trace).toMatchObject({ agent_name: "sdk-e2e-agent", status: "completed", success: true, outcome: "answered" });
    expect(new Map(trace!.spans.map((s) => [s.span_id, s.parent_span_id]))).toEqual(new Map(spans.map((s) => [s.id, s.parent_span_id])));

    // The failing run: failed, and so are the spans the error escaped through
    const { data: failed } = await client.GET("/api/v1/agent_instance/{id}", { params: { path: { id: failedRun } } });
    expect(failed?.details.status).toBe("failed");
    const failedSpans = await spansOf(failedRun);
    expect(failedSpans.map((s) => [s.schema_name, s.status, s.result_payload])).toEqual(
      expect.arrayContaining([
        ["agent", "failed", { error: "the agent gave up" }],
        ["tool", "failed", { error: "the agent gave up" }],
      ]),
    );
  });

  it("delivers every span exactly once across a server killed mid-batch and restarted", async () => {
    const errors: SpyglassError[] = [];
    const sg = new Spyglass({
      baseUrl: server.baseUrl,
      token: TOKEN,
      agent: "sdk-e2e-restart",
      batchSize: 20,
      flushIntervalMs: 20,
      initialRetryDelayMs: 50,
      maxRetryDelayMs: 500,
      onError: (e) => errors.push(e),
    });
    const ids: string[] = [];
    const agent = () =>
      sg.run(async (run) => {
        ids.push(run.id);
        await Promise.all(Array.from({ length: 30 }, (_, i) => run.span({ type: "tool", input: { query: `q${i}` } }, async () => ({ hits: [i] }))));
      });
    await Promise.all(Array.from({ length: 5 }, agent));
    // Wait for the first acknowledgements, then kill the server while later batches are in flight.
    for (let waited = 0; sg.stats().sent === 0 && waited < 30_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    expect(sg.stats().sent).toBeGreaterThan(0);
    server.child.kill("SIGKILL");
    await server.exited;
    await Promise.all(Array.from({ length: 5 }, agent));
    expect(sg.stats().queued).toBeGreaterThan(0);
    server = spawnServer(serverEnv, server.port);
    await waitReady(server, 110_000);
    await sg.flush(60_000);
    await sg.shutdown();
    expect(errors.filter((e) => e.kind === "rejected")).toEqual([]);
    expect(errors.some((e) => e.kind === "network")).toBe(true);
    expect(sg.stats()).toMatchObject({ queued: 0, dropped: 0, failed: 0 });
    for (const id of ids) {
      const { data: run } = await client.GET("/api/v1/agent_instance/{id}", { params: { path: { id } } });
      expect(run?.details).toMatchObject({ status: "complete", span_counts: { total: 30, complete: 30 } });
      const spans = await spansOf(id);
      expect(new Set(spans.map((s) => (s.payload as { query: string }).query)).size).toBe(30);
    }
  }, 180_000);
});
