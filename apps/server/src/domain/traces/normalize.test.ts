import { describe, expect, it } from "vitest";
import { AvTraceBatchItemSchema } from "@spyglass/contracts";
import { asObjectJson, jsonProblem, normalizeTraceItem, parseInstant } from "./normalize.js";

const TRACE = "550e8400-e29b-41d4-a716-446655440000";
const span = (id: string, extra: Record<string, unknown> = {}) => ({
  span_id: id,
  trace_id: TRACE,
  type: "llm",
  name: "call",
  status: "completed",
  started_at: "2024-01-15T10:00:00Z",
  ...extra,
});
const item = (trace: Record<string, unknown> = {}, spans: unknown[] = []) =>
  AvTraceBatchItemSchema.parse({ trace: { trace_id: TRACE, agent: "a", started_at: "2024-01-15T10:00:00Z", ...trace }, spans });

describe("parseInstant", () => {
  it("reads a timestamp without a zone as UTC and accepts compact offsets", () => {
    expect(parseInstant("2024-01-15T10:00:00")?.toISOString()).toBe("2024-01-15T10:00:00.000Z");
    expect(parseInstant("2024-01-15T10:00:00+0200")?.toISOString()).toBe("2024-01-15T08:00:00.000Z");
    expect(parseInstant("2024-01-15T10:00:00-05")?.toISOString()).toBe("2024-01-15T15:00:00.000Z");
    expect(parseInstant("2024-02-30T10:00:00Z")).toBeNull();
  });
});

describe("asObjectJson", () => {
  it("keeps objects and wraps every other JSON value", () => {
    expect(asObjectJson({ a: 1 })).toBe('{"a":1}');
    expect(asObjectJson("hi")).toBe('{"value":"hi"}');
    expect(asObjectJson([1])).toBe('{"value":[1]}');
    expect(asObjectJson(0)).toBe('{"value":0}');
    expect(asObjectJson(null)).toBeNull();
    expect(asObjectJson(undefined)).toBeNull();
  });
});

describe("jsonProblem", () => {
  it("finds NUL in values and keys, and bounds nesting", () => {
    expect(jsonProblem({ a: ["ok", { b: "fine" }] })).toBeNull();
    expect(jsonProblem({ a: ["x\u0000"] })).toMatch(/NUL/);
    expect(jsonProblem({ "k\u0000": 1 })).toMatch(/NUL/);
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    expect(jsonProblem(deep)).toMatch(/deeper than 100/);
  });
});

describe("normalizeTraceItem", () => {
  it("defaults the status, derives durations and end times, lowercases ids", () => {
    const r = normalizeTraceItem(0, item({ trace_id: TRACE.toUpperCase(), duration_ms: 1500 }, [span("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", { trace_id: TRACE.toUpperCase(), ended_at: "2024-01-15T10:00:00.250Z" })]));
    if (!r.ok) throw new Error(r.message);
    expect(r.trace.traceId).toBe(TRACE);
    expect(r.trace.instance).toMatchObject({ status: "complete", finishedAt: "2024-01-15T10:00:01.500Z", durationMs: 1500, terminationReason: null });
    expect(r.trace.spans[0]).toMatchObject({ id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", durationMs: 250, status: "complete" });
  });

  it("keeps running runs and spans open whatever end data they carry", () => {
    const r = normalizeTraceItem(0, item({ status: "running", ended_at: "2024-01-15T10:00:05Z" }, [span("00000000-0000-4000-8000-000000000001", { status: "running", duration_ms: 5 })]));
    if (!r.ok) throw new Error(r.message);
    expect(r.trace.instance).toMatchObject({ status: "active", finishedAt: null, durationMs: null });
    expect(r.trace.spans[0]).toMatchObject({ status: "active", finishedAt: null, durationMs: null });
  });

  it("maps timed_out to terminated with its reason", () => {
    const r = normalizeTraceItem(0, item({ status: "timed_out" }));
    expect(r.ok && r.trace.instance).toMatchObject({ status: "terminated", terminationReason: "timed_out" });
  });

  it("merges a span reported twice: the first finished version stays, else the last one", () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const r = normalizeTraceItem(0, item({}, [
      span(id, { status: "running", name: "first" }),
      span(id, { status: "completed", name: "second" }),
      span(id, { status: "failed", name: "third" }),
    ]));
    if (!r.ok) throw new Error(r.message);
    expect(r.trace.spans).toHaveLength(1);
    expect(r.trace.spans[0]).toMatchObject({ name: "second", status: "complete" });
  });

  it("rejects impossible data with the offending path", () => {
    const bad = (trace: Record<string, unknown>, spans: unknown[] = []) => {
      const r = normalizeTraceItem(3, item(trace, spans));
      if (r.ok) throw new Error("accepted");
      expect(r.index).toBe(3);
      return r.message;
    };
    expect(bad({ ended_at: "2024-01-15T09:00:00Z" })).toBe("trace.ended_at is before started_at");
    expect(bad({}, [span("00000000-0000-4000-8000-000000000001", { trace_id: "00000000-0000-4000-8000-00000000000f" })])).toMatch(/spans\.0\.trace_id/);
    expect(bad({}, [span("00000000-0000-4000-8000-000000000001", { parent_span_id: "00000000-0000-4000-8000-000000000001" })])).toMatch(/parent_span_id/);
    expect(bad({}, [span("00000000-0000-4000-8000-000000000001", { input_tokens: 2_000_000_000, output_tokens: 2_000_000_000 })])).toMatch(/total_tokens/);
    expect(bad({ ended_at: "2024-03-15T09:00:00Z" })).toMatch(/duration exceeds/);
    expect(bad({ ended_at: "9999-01-15T09:00:00Z" })).toMatch(/trace\.ended_at: must not be more than a day ahead/);
    expect(bad({ started_at: "0049-01-15T09:00:00Z" })).toMatch(/trace\.started_at: must not be before 2000/);
  });
});
