import { describe, expect, it } from "vitest";
import { batchWriters, WriteGate } from "./ingest.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("WriteGate", () => {
  it("runs at most `limit` at once, the rest in arrival order, and frees the slot on failure", async () => {
    const gate = new WriteGate(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const job = (i: number) =>
      gate.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        if (i === 1) throw new Error("boom");
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(job));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    // Every slot came back: a new job starts at once.
    let ran = false;
    await gate.run(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});

describe("batchWriters", () => {
  it("is a quarter of the pool, at most the cores, at least one", () => {
    expect(batchWriters(20, 2)).toBe(2);
    expect(batchWriters(20, 16)).toBe(5);
    expect(batchWriters(12, 4)).toBe(3);
    expect(batchWriters(3, 8)).toBe(1);
    expect(batchWriters(200, 1)).toBe(1);
  });
});
