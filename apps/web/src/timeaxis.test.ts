import { describe, expect, it } from "vitest";
import { barOf, endOf, extentOf, tickLabel, ticksOf, tickStep } from "./timeaxis";

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const span = (start: number, end: number | null, duration: number | null = null) => ({
  started_at: at(start),
  ended_at: end === null ? null : at(end),
  duration_ms: duration,
});
const T0 = Date.UTC(2026, 0, 1);

describe("extent and bars", () => {
  it("covers the run and spans that start before or end after it", () => {
    const run = span(100, 1100);
    const extent = extentOf(run, [span(50, 300), span(900, 1600)], T0 + 5000);
    expect(extent).toEqual({ start: T0 + 50, length: 1550 });
  });

  it("ends a running span at now, and one without ended_at at start + duration", () => {
    expect(endOf(span(0, null), T0 + 800)).toBe(T0 + 800);
    expect(endOf(span(0, null, 250), T0 + 800)).toBe(T0 + 250);
  });

  it("places bars as fractions of the axis, never zero-width or past the end", () => {
    const extent = { start: T0, length: 1000 };
    expect(barOf(span(250, 750), extent, T0)).toEqual({ left: 0.25, width: 0.5 });
    expect(barOf(span(500, 500), extent, T0, 0.01)).toEqual({ left: 0.5, width: 0.01 });
    const last = barOf(span(1000, 1000), extent, T0, 0.01);
    expect(last.left + last.width).toBeLessThanOrEqual(1.0100001);
    const bar = barOf(span(900, 5000), extent, T0);
    expect(bar.left + bar.width).toBeCloseTo(1);
  });
});

describe("ruler ticks", () => {
  it("uses human steps", () => {
    expect(tickStep(1700)).toBe(500);
    expect(tickStep(90)).toBe(20);
    expect(tickStep(45_000)).toBe(10_000);
    expect(tickStep(20 * 60_000)).toBe(300_000);
    expect(tickStep(3 * 86_400_000)).toBe(43_200_000);
    expect(tickStep(30 * 86_400_000)).toBe(5 * 86_400_000);
  });

  it("starts at 0 and stays within the axis", () => {
    expect(ticksOf(1700)).toEqual([0, 500, 1000, 1500]);
    expect(ticksOf(1)).toEqual([0, 1]);
    const many = ticksOf(3_600_000 * 5);
    expect(many[0]).toBe(0);
    expect(many.length).toBeLessThanOrEqual(7);
  });

  it("labels ticks in ms, s, min and h", () => {
    expect(tickLabel(0)).toBe("0");
    expect(tickLabel(250)).toBe("250 ms");
    expect(tickLabel(1500)).toBe("1.5 s");
    expect(tickLabel(120_000)).toBe("2 min");
    expect(tickLabel(90_000)).toBe("1 min 30 s");
    expect(tickLabel(5_400_000)).toBe("1 h 30 min");
  });
});
