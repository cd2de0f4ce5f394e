// The benchmark's data must be what the brief promises (it is an instrument: wrong data, wrong
// figures). No timing here: only shapes, ranges and determinism.
import { describe, expect, it } from "vitest";
import { agentDefs, generateTrace, iso, pickSpanCount, SPAN_TYPE_SCHEMAS, usd } from "./generate.js";
import { percentile } from "./report.js";
import { Rng } from "./rng.js";
import { INSTANCE_COLUMNS, instanceRow, SPAN_COLUMNS, spanRows } from "./rows.js";
import { AV_BATCH_SPANS, avBatches, planSpanCount, planTraces } from "./workloads.js";

const anchor = Date.UTC(2026, 10, 1);

describe("benchmark data", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = planTraces({ seed: "s", anchor, label: "x", workers: 4, spans: 2000 });
    const b = planTraces({ seed: "s", anchor, label: "x", workers: 4, spans: 2000 });
    const c = planTraces({ seed: "t", anchor, label: "x", workers: 4, spans: 2000 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it("builds 5–200 span trees, parents first, with sane timing and payload sizes", () => {
    const rng = new Rng("tree");
    const agents = agentDefs();
    expect(agents).toHaveLength(20);
    const sizes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const n = i % 50 === 0 ? 200 : pickSpanCount(rng);
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(200);
      const t = generateTrace(rng, { agent: rng.pick(agents), startedAt: anchor, spanCount: n });
      expect(t.spans).toHaveLength(n);
      const seen = new Map<string, (typeof t.spans)[number]>();
      for (const s of t.spans) {
        if (s.parentId !== null) {
          const parent = seen.get(s.parentId)!;
          expect(parent).toBeDefined();
          expect(s.startedAt).toBeGreaterThanOrEqual(parent.startedAt);
          if (s.endedAt !== null && parent.endedAt !== null) expect(s.endedAt).toBeLessThanOrEqual(parent.endedAt);
        }
        seen.set(s.id, s);
        sizes.push(JSON.stringify(s.input).length + JSON.stringify(s.output ?? {}).length);
        if (s.type === "llm") {
          expect(s.model).toBeTruthy();
          expect(s.totalTokens).toBe(s.inputTokens! + s.outputTokens!);
          expect(s.costMicros).toBeGreaterThan(0);
        }
      }
      expect(t.spans.filter((s) => s.parentId === null)).toHaveLength(1);
      const llm = t.spans.filter((s) => s.type === "llm");
      expect(t.totalTokens).toBe(llm.reduce((m, s) => m + s.totalTokens!, 0));
    }
    expect(percentile(sizes, 5)).toBeGreaterThan(150);
    expect(percentile(sizes, 95)).toBeLessThan(4600);
  });

  it("makes runs mostly completed with some failed", () => {
    const plan = planTraces({ seed: "status", anchor, label: "x", workers: 1, spans: 40_000 }).flat();
    const share = (s: string) => plan.filter((t) => t.status === s).length / plan.length;
    expect(share("completed")).toBeGreaterThan(0.85);
    expect(share("failed")).toBeGreaterThan(0.002);
    for (const t of plan.filter((x) => x.status === "failed")) expect(t.spans.some((s) => s.status === "failed")).toBe(true);
  });

  it("packs AgentVista batches of at most 100 spans, every span exactly once", () => {
    const plan = planTraces({ seed: "batches", anchor, label: "x", workers: 3, spans: 3000 });
    let spans = 0;
    const ids = new Set<string>();
    for (const traces of plan) {
      for (const b of avBatches(traces)) {
        const body = JSON.parse(b.body) as { traces: { trace: { trace_id: string }; spans: { span_id: string; trace_id: string }[] }[] };
        const n = body.traces.reduce((m, t) => m + t.spans.length, 0);
        expect(n).toBe(b.spans);
        expect(n).toBeLessThanOrEqual(AV_BATCH_SPANS);
        for (const t of body.traces) for (const s of t.spans) {
          expect(s.trace_id).toBe(t.trace.trace_id);
          ids.add(s.span_id);
        }
        spans += n;
      }
    }
    expect(spans).toBe(planSpanCount(plan));
    expect(ids.size).toBe(spans);
  });

  it("maps runs to rows with one value per column and exact money", () => {
    const t = planTraces({ seed: "rows", anchor, label: "x", workers: 1, spans: 50 })[0]![0]!;
    const ctx = { accountId: "a", agentId: "g", environmentId: null, withSummaries: true };
    expect(instanceRow(t, ctx)).toHaveLength(INSTANCE_COLUMNS.length);
    for (const row of spanRows(t, ctx)) expect(row).toHaveLength(SPAN_COLUMNS.length);
    expect(usd(4_500)).toBe("0.004500");
    expect(usd(12_345_678)).toBe("12.345678");
    expect(iso(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(SPAN_TYPE_SCHEMAS.map((s) => s.name).sort()).toEqual(["agent", "custom", "db", "http", "llm", "retrieval", "tool"]);
  });
});
