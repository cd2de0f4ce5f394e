import { describe, expect, it } from "vitest";
import { winner } from "./compare";

describe("winner", () => {
  it("marks the higher or lower value by the row's direction", () => {
    expect(winner(0.9, 0.5, "higher")).toBe(0);
    expect(winner(0.9, 0.5, "lower")).toBe(1);
    expect(winner(2, 3, "lower")).toBe(0);
  });

  it("marks nothing for a tie, a missing value or a row without a direction", () => {
    expect(winner(1, 1, "lower")).toBeNull();
    expect(winner(null, 1, "lower")).toBeNull();
    expect(winner(1, null, "higher")).toBeNull();
    expect(winner(1, 2)).toBeNull();
  });

  it("does not crown an agent that reports no cost or tokens as the cheaper one", () => {
    expect(winner(0.007, 0, "lower", true)).toBeNull();
    expect(winner(0, 2200, "lower", true)).toBeNull();
    expect(winner(0.007, 0.003, "lower", true)).toBe(1);
    // Where zero is a real figure (an error rate), it still wins.
    expect(winner(25, 0, "lower")).toBe(1);
  });
});
