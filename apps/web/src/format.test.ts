import { describe, expect, it } from "vitest";
import { formatBytes, formatCost, formatDuration, formatPercent, formatRelative, formatTokens } from "./format";

describe("formatCost", () => {
  it("shows small costs with two significant digits and larger ones with cents", () => {
    expect(formatCost("0.004500")).toBe("$0.0045");
    expect(formatCost(0.0032)).toBe("$0.0032");
    expect(formatCost(0.12345)).toBe("$0.12");
    expect(formatCost(0.5)).toBe("$0.50");
    expect(formatCost(0.000012)).toBe("$0.000012");
    expect(formatCost(12.3)).toBe("$12.30");
    expect(formatCost(1234.5)).toBe("$1,234.50");
    expect(formatCost(0)).toBe("$0.00");
    expect(formatCost(null)).toBe("—");
    expect(formatCost("nonsense")).toBe("—");
  });
});

describe("formatTokens", () => {
  it("abbreviates thousands and millions", () => {
    expect(formatTokens(950)).toBe("950");
    expect(formatTokens(1500)).toBe("1.5k");
    expect(formatTokens(1000)).toBe("1k");
    expect(formatTokens(12_345)).toBe("12k");
    expect(formatTokens(999_999)).toBe("1M");
    expect(formatTokens(2_340_000)).toBe("2.3M");
    expect(formatTokens(null)).toBe("—");
  });
});

describe("formatDuration", () => {
  it("picks the unit a person would say", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(1700)).toBe("1.7 s");
    expect(formatDuration(2000)).toBe("2 s");
    expect(formatDuration(12_400)).toBe("12 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(120_000)).toBe("2 min");
    expect(formatDuration(3_900_000)).toBe("1 h 5 min");
    expect(formatDuration(5 * 86_400_000)).toBe("5 d");
    expect(formatDuration(null)).toBe("—");
  });
});

describe("formatRelative", () => {
  const now = new Date("2026-11-30T12:00:00Z");
  it("says how long ago, or how long until", () => {
    expect(formatRelative("2026-11-30T11:59:58Z", now)).toBe("just now");
    expect(formatRelative("2026-11-30T11:59:18Z", now)).toBe("42 s ago");
    expect(formatRelative("2026-11-30T11:55:00Z", now)).toBe("5 min ago");
    expect(formatRelative("2026-11-30T09:00:00Z", now)).toBe("3 h ago");
    expect(formatRelative("2026-11-28T12:00:00Z", now)).toBe("2 d ago");
    expect(formatRelative("2026-11-30T12:05:00Z", now)).toBe("in 5 min");
  });
});

describe("formatPercent and formatBytes", () => {
  it("formats rates and sizes", () => {
    expect(formatPercent(92.5)).toBe("92.5%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(null)).toBe("—");
    expect(formatBytes(812)).toBe("812 B");
    expect(formatBytes(12_595)).toBe("12.3 KB");
  });
});
