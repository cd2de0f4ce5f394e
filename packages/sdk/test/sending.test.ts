import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { Spyglass, SpyglassError, type SpyglassOptions } from "../src/index.js";
import { FakeSpyglass } from "./helpers/fake-server.js";

const open: Spyglass[] = [];
const fakes: FakeSpyglass[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sg) => sg.shutdown(100)));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function fake(): Promise<FakeSpyglass> {
  const f = new FakeSpyglass();
  await f.start();
  fakes.push(f);
  return f;
}

function tracer(f: FakeSpyglass, options: Partial<SpyglassOptions> = {}, errors: SpyglassError[] = []): Spyglass {
  const sg = new Spyglass({
    baseUrl: f.baseUrl,
    token: "test-token",
    agent: "test-agent",
    version: "1.0.0",
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 100,
    requestTimeoutMs: 2000,
    onError: (e) => errors.push(e),
    ...options,
  });
  open.push(sg);
  return sg;
}

/** Sets (or, for undefined, unsets) environment variables; returns what puts them back. */
function setEnv(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(values);
  return () => apply(saved);
}

/** A run of `spans` leaf spans under one parent span, each returning its index. */
async function work(sg: Spyglass, spans: number): Promise<number[]> {
  return sg.run((run) => run.span({ type: "agent" }, () => Promise.all(Array.from({ length: spans }, (_, i) => run.span({ type: "tool", input: { i } }, async () => i)))));
}

/** Every span created exactly once, finished exactly once (in its create or by one finish), none refused. */
function expectExactlyOnce(f: FakeSpyglass, spans: number): void {
  const creates = f.spanCreates();
  expect(creates).toHaveLength(spans);
  expect(new Set(creates.map((c) => f.details(c).id)).size).toBe(spans);
  const finishes = f.log.filter((i) => i._type === "agent_spans/finish");
  for (const create of creates) {
    const id = f.details(create).id;
    const finishedInCreate = f.details(create).status !== "active";
    const finishCount = finishes.filter((x) => x.agent_span_id === id).length;
    expect(finishedInCreate ? 0 : 1).toBe(finishCount);
  }
  expect(f.refused).toEqual([]);
}

describe("batching", () => {
  it("sends a span's create and end as one item when it ends before its batch goes, parents before children", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 60_000 });
    const results = await work(sg, 40);
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(f.requests).toBe(0);
    await sg.flush();
    // register, start, 41 span creates (each already finished when sent), run finish: one request
    expect(f.log.map((i) => i._type)).toEqual(["agent_instances/register", "agent_instances/start", ...Array(41).fill("agent_spans/create"), "agent_instances/finish"]);
    expect(f.requests).toBe(1);
    expectExactlyOnce(f, 41);
    const [root, ...leaves] = f.spanCreates();
    expect(f.details(root!).parent_span_id).toBeNull();
    for (const leaf of leaves) expect(f.details(leaf).parent_span_id).toBe(f.details(root!).id);
    expect(sg.stats()).toMatchObject({ queued: 0, sent: 44, dropped: 0, failed: 0 });
  });

  it("sends a batch as soon as batchSize items are queued, never more in one request", async () => {
    const f = await fake();
    const sg = tracer(f, { batchSize: 10, flushIntervalMs: 60_000 });
    await work(sg, 40);
    await sg.flush();
    expect(f.batchSizes.every((n) => n <= 10)).toBe(true);
    expect(f.requests).toBeGreaterThanOrEqual(Math.ceil(f.log.length / 10));
    // Full batches went while the spans were still open; their ends followed as finishes.
    expectExactlyOnce(f, 41);
    expect(f.log.filter((i) => i._type === "agent_spans/finish").length).toBeGreaterThan(0);
  });

  it("sends a partial batch after flushIntervalMs without being asked", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 50 });
    await work(sg, 3);
    expect(f.requests).toBe(0);
    for (let waited = 0; f.log.length < 7 && waited < 3000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(f.log).toHaveLength(7);
    expect(f.requests).toBe(1);
  });

  it("sends a span's end as its own finish when its create already went out", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 60_000 });
    let sent = false;
    await sg.run(async (run) => {
      await run.span({ type: "llm" }, async (span) => {
        await sg.flush();
        sent = f.spanCreates().length === 1;
        span.setUsage({ model: "m", inputTokens: 3, outputTokens: 4, costUsd: "0.0100" });
        return { answer: 42 };
      });
    });
    await sg.flush();
    expect(sent).toBe(true);
    const [create] = f.spanCreates();
    expect(f.details(create!).status).toBe("active");
    const finish = f.log.find((i) => i._type === "agent_spans/finish");
    expect(finish).toMatchObject({
      agent_span_id: f.details(create!).id,
      status: "complete",
      result_payload: { answer: 42, model: "m", usage: { input_tokens: 3, output_tokens: 4, cost_usd: "0.0100" } },
    });
    expectExactlyOnce(f, 1);
  });
});

describe("retries", () => {
  it("survives 500s, a 429 with Retry-After, connections dropped before and after processing, a stalled answer and an item-level failure: every span exactly once", async () => {
    const f = await fake();
    const errors: SpyglassError[] = [];
    const sg = tracer(f, { batchSize: 25, flushIntervalMs: 60_000, requestTimeoutMs: 300 }, errors);
    f.commands.push(
      { status: 500 },
      { drop: "after" },
      { status: 503 },
      { status: 429, retryAfter: "1" },
      { drop: "before" },
      { delayMs: 600 },
      { itemFails: 3 },
      { drop: "after" },
    );
    const results = await Promise.all([work(sg, 30), work(sg, 30), work(sg, 30)]);
    expect(results).toEqual([0, 1, 2].map(() => Array.from({ length: 30 }, (_, i) => i)));
    await sg.flush();
    expect(f.commands).toEqual([]);
    // The 429 asked for a second: nothing was sent sooner than that after it (the backoff alone is ≤ 100 ms).
    const limited = f.served.findIndex((s) => s.command && "status" in s.command && s.command.status === 429);
    expect(f.served[limited + 1]!.at - f.served[limited]!.at).toBeGreaterThanOrEqual(950);
    expectExactlyOnce(f, 93);
    for (const type of ["agent_instances/register", "agent_instances/start", "agent_instances/finish"]) {
      expect(f.log.filter((i) => i._type === type)).toHaveLength(3);
    }
    expect(sg.stats()).toMatchObject({ queued: 0, dropped: 0, failed: 0 });
    expect(sg.stats().retries).toBeGreaterThanOrEqual(8);
    expect(new Set(errors.map((e) => e.kind))).toEqual(new Set(["http", "network"]));
  });

  it("waits out minutes of unreachability (shortened by configuration) and then delivers everything once", async () => {
    const f = await fake();
    await f.stop();
    const errors: SpyglassError[] = [];
    const sg = tracer(f, { batchSize: 20, flushIntervalMs: 20, initialRetryDelayMs: 10, maxRetryDelayMs: 50 }, errors);
    for (let i = 0; i < 20; i++) expect(await work(sg, 5)).toEqual([0, 1, 2, 3, 4]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(errors.filter((e) => e.kind === "network").length).toBeGreaterThan(10);
    expect(sg.stats().queued).toBe(20 * 9);
    await f.start();
    await sg.flush(10_000);
    expectExactlyOnce(f, 20 * 6);
    expect(sg.stats()).toMatchObject({ queued: 0, sent: 20 * 9, dropped: 0, failed: 0 });
  });

  it("gives an item the server refuses to onError, drops it, and goes on with the rest", async () => {
    const f = await fake();
    f.rejectType = "bad";
    const errors: SpyglassError[] = [];
    const sg = tracer(f, { flushIntervalMs: 60_000 }, errors);
    await sg.run(async (run) => {
      await run.span({ type: "bad" }, async () => 1);
      await run.span({ type: "good" }, async () => 2);
    });
    await sg.flush();
    expect(f.spanCreates().map((c) => f.details(c).schema_name)).toEqual(["good"]);
    expect(f.log.at(-1)?._type).toBe("agent_instances/finish");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: "rejected", code: "invalid_value" });
    expect(sg.stats()).toMatchObject({ sent: 4, failed: 1 });
  });
});

describe("refusals", () => {
  it("gives up a request the server refuses as a whole (401), counts each item once, and goes on with later runs", async () => {
    const f = await fake();
    const errors: SpyglassError[] = [];
    const sg = tracer(f, { flushIntervalMs: 60_000 }, errors);
    f.commands.push({ status: 401 });
    await Promise.all([work(sg, 1), work(sg, 1)]);
    await sg.flush();
    expect(f.log).toEqual([]);
    // Two runs of register, start, 2 spans, finish.
    expect(sg.stats()).toMatchObject({ queued: 0, sent: 0, failed: 10, dropped: 0 });
    expect(errors.every((e) => e.kind === "rejected" && e.status === 401)).toBe(true);
    await work(sg, 1);
    await sg.flush();
    expect(f.log).toHaveLength(5);
    expect(f.refused).toEqual([]);
  });
});

describe("bounded memory", () => {
  it("holds at most maxQueueSize items while the server is away, drops and counts the rest, never blocks the agent, and keeps what it holds consistent", async () => {
    const f = await fake();
    await f.stop();
    const sg = tracer(f, { maxQueueSize: 1000, flushIntervalMs: 20, initialRetryDelayMs: 10, maxRetryDelayMs: 50 });
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const payload = { text: "x".repeat(500) };
    gc();
    const before = process.memoryUsage().heapUsed;
    const started = Date.now();
    let total = 0;
    for (let r = 0; r < 100; r++) {
      const results = await sg.run((run) => Promise.all(Array.from({ length: 1000 }, (_, i) => run.span({ type: "tool", input: payload }, async () => ({ i, payload })))));
      total += results.length;
      expect(results[999]).toEqual({ i: 999, payload });
    }
    const elapsed = Date.now() - started;
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(total).toBe(100_000);
    const stats = sg.stats();
    expect(stats.queued).toBeLessThanOrEqual(1000);
    // 100 runs × (register + start + finish + 1000 spans), plus a finish for each span whose
    // create was already in the (failing) request when it ended; at most the cap is held.
    expect(stats.queued + stats.dropped).toBeGreaterThanOrEqual(100 * 1003);
    expect(stats.queued + stats.dropped).toBeLessThanOrEqual(100 * 1003 + 100);
    // 100,000 spans with 500-byte payloads and results would be > 100 MB held; the cap holds ~1 MB.
    expect(grown).toBeLessThan(30 * 1024 * 1024);
    expect(elapsed).toBeLessThan(30_000);

    // What was held is a consistent prefix: the server takes all of it without a refusal.
    await f.start();
    await sg.flush(10_000);
    expect(f.refused).toEqual([]);
    expect(sg.stats()).toMatchObject({ queued: 0, failed: 0, sent: stats.queued });
  });
});

describe("shutdown", () => {
  it("sends what is queued and resolves", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 60_000 });
    await work(sg, 10);
    await sg.shutdown();
    expect(f.log).toHaveLength(3 + 11);
    // After shutdown nothing is recorded, and the agent's code still runs.
    expect(await work(sg, 2)).toEqual([0, 1]);
    await sg.flush();
    expect(f.log).toHaveLength(3 + 11);
  });

  it("gives up after its timeout when the server is away: resolves, drops and counts what is left", async () => {
    const f = await fake();
    await f.stop();
    const sg = tracer(f, { flushIntervalMs: 10 });
    await work(sg, 10);
    const started = Date.now();
    await sg.shutdown(300);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sg.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 14 });
  });

  it("abandons a request in flight at its timeout", async () => {
    const f = await fake();
    f.commands.push({ delayMs: 5000 });
    const sg = tracer(f, { flushIntervalMs: 10, requestTimeoutMs: 10_000 });
    await work(sg, 1);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await sg.shutdown(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sg.stats().queued).toBe(0);
  });
});

describe("the agent's code", () => {
  it("gets its results and its errors unchanged; a throw fails the span, and the run when it escapes", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 60_000 });
    const boom = new TypeError("boom");
    const value = { nested: [1, 2] };
    let caught: unknown;
    const returned = await sg.run(async (run) => {
      const same = await run.span({ type: "ok" }, () => value);
      expect(same).toBe(value);
      try {
        await run.span({ type: "fails" }, () => {
          throw boom;
        });
      } catch (error) {
        caught = error;
      }
      return "done";
    });
    expect(returned).toBe("done");
    expect(caught).toBe(boom);

    const escaped = await sg
      .run(async (run) => {
        await run.span({ type: "outer" }, () => run.span({ type: "inner" }, () => Promise.reject(boom)));
      })
      .catch((error: unknown) => error);
    expect(escaped).toBe(boom);
    await sg.flush();

    const byType = new Map(f.spanCreates().map((c) => [f.details(c).schema_name, f.details(c)]));
    expect(byType.get("ok")).toMatchObject({ status: "complete", result_payload: { nested: [1, 2] } });
    expect(byType.get("fails")).toMatchObject({ status: "failed", result_payload: { error: "boom" } });
    expect(byType.get("outer")).toMatchObject({ status: "failed", result_payload: { error: "boom" } });
    expect(byType.get("inner")).toMatchObject({ status: "failed", parent_span_id: byType.get("outer")!.id });
    const finishes = f.log.filter((i) => i._type === "agent_instances/finish").map((i) => i.status);
    expect(finishes).toEqual(["complete", "failed"]);
  });

  it("finds parents across awaits, timers and Promise.all, and keeps concurrent runs apart", async () => {
    const f = await fake();
    const sg = tracer(f, { flushIntervalMs: 60_000 });
    const tick = () => new Promise((r) => setTimeout(r, 1));
    const agent = (n: number) =>
      sg.run(async (run) => {
        await run.span({ type: "root", input: { n } }, async () => {
          await tick();
          await Promise.all([
            run.span({ type: "a", input: { n } }, async () => {
              await tick();
              await sg.span({ type: "a1", input: { n } }, async () => tick());
            }),
            run.span({ type: "b", input: { n } }, async () => tick()),
          ]);
        });
        await run.span({ type: "after", input: { n } }, async () => 0);
      });
    await Promise.all([agent(1), agent(2)]);
    await sg.flush();
    const spans = f.spanCreates().map((c) => f.details(c));
    const find = (type: string, n: number) => spans.find((s) => s.schema_name === type && (s.payload as { n: number }).n === n)!;
    for (const n of [1, 2]) {
      const root = find("root", n);
      expect(root.parent_span_id).toBeNull();
      expect(find("a", n).parent_span_id).toBe(root.id);
      expect(find("b", n).parent_span_id).toBe(root.id);
      expect(find("a1", n).parent_span_id).toBe(find("a", n).id);
      expect(find("after", n).parent_span_id).toBeNull();
      for (const type of ["a", "b", "a1", "after"]) expect(find(type, n).agent_instance_id).toBe(root.agent_instance_id);
    }
    expect(find("root", 1).agent_instance_id).not.toBe(find("root", 2).agent_instance_id);
  });

  it("never throws for telemetry: no server configured, a throwing onError hook, an unserializable result", async () => {
    const restore = setEnv({ SPYGLASS_BASE_URL: undefined });
    const errors: SpyglassError[] = [];
    const off = new Spyglass({ agent: "x", onError: (e) => errors.push(e) });
    expect(await off.run((run) => run.span({ type: "t" }, () => 7))).toBe(7);
    await off.shutdown();
    expect(errors.map((e) => e.kind)).toEqual(["config"]);
    restore();

    const f = await fake();
    await f.stop();
    const sg = tracer(f, {
      flushIntervalMs: 10,
      onError: () => {
        throw new Error("the hook fails");
      },
    });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const big = 10n;
    expect(await sg.run((run) => run.span({ type: "t", input: { big } }, () => circular))).toBe(circular);
    await new Promise((r) => setTimeout(r, 100));
    await f.start();
    await sg.flush();
    const [create] = f.spanCreates();
    expect(f.details(create!).payload).toEqual({ big: "10" });
    expect(f.details(create!).result_payload).toEqual({ value: expect.stringMatching(/^\[not serializable: /) });
  });

  it("reads SPYGLASS_BASE_URL and SPYGLASS_TOKEN, and sends the outcome once the run is registered", async () => {
    const f = await fake();
    const restore = setEnv({ SPYGLASS_BASE_URL: f.baseUrl, SPYGLASS_TOKEN: "from-env" });
    try {
      const sg = new Spyglass({ agent: "env-agent", flushIntervalMs: 60_000 });
      open.push(sg);
      let id = "";
      await sg.run(async (run) => {
        id = run.id;
        run.setOutcome({ success: false, outcome: "escalated" });
      });
      await sg.flush();
      expect(f.outcomes.get(id)).toEqual({ success: false, outcome: "escalated" });
      expect(f.log[0]).toMatchObject({ _type: "agent_instances/register", id, agent_version: { name: "env-agent" } });
      expect(f.authorization).toBe("Bearer from-env");
    } finally {
      restore();
    }
  });
});

describe("a script that never calls shutdown()", () => {
  it("still sends what it recorded before the process exits, and then exits", async () => {
    const f = await fake();
    const { spawn } = await import("node:child_process");
    const script = `
      import { Spyglass } from "./src/index.ts";
      const sg = new Spyglass({ agent: "no-shutdown", flushIntervalMs: 60_000 });
      await sg.run((run) => run.span({ type: "tool" }, async () => 1));
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spyglass/source", "--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url).pathname,
      env: { PATH: process.env.PATH, SPYGLASS_BASE_URL: f.baseUrl, SPYGLASS_TOKEN: "t" },
      stdio: "inherit",
    });
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(f.log.map((i) => i._type)).toEqual(["agent_instances/register", "agent_instances/start", "agent_spans/create", "agent_instances/finish"]);
  });
});
