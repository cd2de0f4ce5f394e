import { describe, expect, it } from "vitest";
import { SlidingWindowRateLimiter, tokenRateLimiter } from "./rate-limit.js";

const MINUTE = 60_000;

function limiter(limit: number, startAt = 0, maxKeys = 100) {
  const clock = { t: startAt };
  return { clock, rl: new SlidingWindowRateLimiter(limit, MINUTE, maxKeys, () => clock.t) };
}

describe("SlidingWindowRateLimiter", () => {
  it("allows `limit` requests in a window and refuses the next with a Retry-After", () => {
    const { rl } = limiter(3);
    expect([rl.hit("a"), rl.hit("a"), rl.hit("a")].every((d) => d.allowed)).toBe(true);
    const refused = rl.hit("a");
    expect(refused.allowed).toBe(false);
    // All three at t=0: in the next window they weigh 3 * (1 - elapsed), which leaves room for
    // one more once a third of that window has passed, at t = 80 s.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 80 });
  });

  it("peek tells whether one more would fit without counting it", () => {
    const { rl } = limiter(2);
    expect(rl.peek("a")).toEqual({ allowed: true });
    expect(rl.trackedKeys).toBe(0);
    rl.hit("a");
    expect(rl.peek("a").allowed).toBe(true);
    expect(rl.peek("a").allowed).toBe(true);
    rl.hit("a");
    expect(rl.peek("a")).toEqual(rl.hit("a"));
    expect(rl.peek("a").allowed).toBe(false);
  });

  it("counts each key separately", () => {
    const { rl } = limiter(1);
    expect(rl.hit("a").allowed).toBe(true);
    expect(rl.hit("b").allowed).toBe(true);
    expect(rl.hit("a").allowed).toBe(false);
  });

  it("does not count refused requests", () => {
    const { rl, clock } = limiter(2);
    rl.hit("a");
    rl.hit("a");
    for (let i = 0; i < 100; i++) rl.hit("a");
    clock.t = 2 * MINUTE;
    expect(rl.hit("a").allowed).toBe(true);
    expect(rl.hit("a").allowed).toBe(true);
    expect(rl.hit("a").allowed).toBe(false);
  });

  it("slides: the previous window weighs in proportion to its overlap", () => {
    const { rl, clock } = limiter(10);
    for (let i = 0; i < 10; i++) expect(rl.hit("a").allowed).toBe(true);
    // A quarter into the next window, 75% of the previous 10 still count: 7.5 + 0, room for 2.
    clock.t = MINUTE + MINUTE / 4;
    expect(rl.hit("a").allowed).toBe(true);
    expect(rl.hit("a").allowed).toBe(true);
    const refused = rl.hit("a");
    expect(refused.allowed).toBe(false);
    // 7.5 - x*10 + 2 + 1 <= 10 -> the previous window must weigh <= 7: at 30% of this window.
    expect(refused.allowed === false && refused.retryAfterSeconds).toBe(3);
    clock.t = MINUTE + (MINUTE * 3) / 10;
    expect(rl.hit("a").allowed).toBe(true);
  });

  it("tells a client the truth: retrying after Retry-After succeeds", () => {
    for (const limit of [1, 2, 7, 13, 60]) {
      const { rl, clock } = limiter(limit, 12_345);
      let refusals = 0;
      for (let step = 0; step < 2_000; step++) {
        const decision = rl.hit("a");
        if (!decision.allowed) {
          refusals++;
          clock.t += decision.retryAfterSeconds * 1000;
          expect({ limit, step, allowed: rl.hit("a").allowed }).toEqual({ limit, step, allowed: true });
        }
        clock.t += 1 + ((step * 7919) % 1733);
      }
      expect(refusals).toBeGreaterThan(0);
    }
  });

  it("never allows more than twice the limit in any 60 s span", () => {
    const { rl, clock } = limiter(50, 0);
    const allowedAt: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      clock.t += 37;
      if (rl.hit("a").allowed) allowedAt.push(clock.t);
    }
    let worst = 0;
    for (let i = 0, j = 0; i < allowedAt.length; i++) {
      while (allowedAt[i]! - allowedAt[j]! >= MINUTE) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(100);
    // Steady state is about the limit per minute.
    expect(allowedAt.length / ((20_000 * 37) / MINUTE)).toBeCloseTo(50, -1);
  });

  it("forgets idle keys and never tracks more than maxKeys", () => {
    const { rl, clock } = limiter(5, 0, 1000);
    for (let i = 0; i < 5000; i++) rl.hit(`k${i}`);
    expect(rl.trackedKeys).toBe(1000);
    clock.t = 2 * MINUTE;
    rl.hit("fresh");
    expect(rl.trackedKeys).toBe(1);
  });
});

describe("tokenRateLimiter", () => {
  it("is off at 0", () => {
    expect(tokenRateLimiter(0)).toBeNull();
    expect(tokenRateLimiter(60)?.limit).toBe(60);
  });
});
