import type { RequestHandler } from "express";
import { AppError } from "../domain/shared/app-error.js";

interface Window {
  start: number;
  current: number;
  previous: number;
}

// Float noise in the window weights must not turn an exact 3 s wait into 4, nor refuse a client
// that comes back exactly when told to.
const EPSILON = 1e-6;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Sliding-window counter (the previous fixed window's count, weighted by how much of it still
 * overlaps the sliding window, plus the current one's): smooth like a true sliding log, at two
 * numbers per key. State is in this process only, so with N replicas behind a load balancer a
 * token may get up to N times the limit; that is the documented trade-off for keeping the API
 * processes free of shared state.
 */
export class SlidingWindowRateLimiter {
  private readonly windows = new Map<string, Window>();
  private sweptAt = 0;

  constructor(
    readonly limit: number,
    private readonly windowMs = 60_000,
    /** Hard cap on tracked keys; the least recently started is dropped first. */
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for `key` unless it is over the limit (refused requests are not counted). */
  hit(key: string): RateDecision {
    return this.decide(key, true);
  }

  /** Whether one more request for `key` would be allowed now, without counting it. */
  peek(key: string): RateDecision {
    return this.decide(key, false);
  }

  private decide(key: string, count: boolean): RateDecision {
    const t = this.now();
    const start = t - (t % this.windowMs);
    this.sweep(start);
    let w = this.windows.get(key);
    if (!w) {
      if (!count) return { allowed: true };
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { start, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = start - w.start === this.windowMs ? w.current : 0;
      w.current = 0;
      w.start = start;
      // Re-insert so that Map order stays "oldest window first" for the cap above.
      this.windows.delete(key);
      this.windows.set(key, w);
    }
    const elapsed = (t - start) / this.windowMs;
    if (w.previous * (1 - elapsed) + w.current + 1 <= this.limit + EPSILON) {
      if (count) w.current += 1;
      return { allowed: true };
    }
    const waitMs = Math.ceil(this.waitMs(w, t, elapsed) - EPSILON);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** How long until one more request fits, if no other request arrives meanwhile. */
  private waitMs(w: Window, t: number, elapsed: number): number {
    const room = this.limit - 1;
    if (w.current <= room && w.previous > 0) {
      // Still in this window: wait until enough of the previous window has slid out.
      const fraction = 1 - (room - w.current) / w.previous;
      return Math.max(0, (fraction - elapsed) * this.windowMs);
    }
    // Only the next window can take it; there, this window's count is the "previous" one.
    const untilNext = w.start + this.windowMs - t;
    const fraction = w.current > 0 ? Math.max(0, 1 - room / w.current) : 0;
    return untilNext + fraction * this.windowMs;
  }

  /** Once per window, forgets keys whose two windows have both passed, so memory stays bounded. */
  private sweep(start: number): void {
    if (start === this.sweptAt) return;
    this.sweptAt = start;
    for (const [key, w] of this.windows) {
      if (w.start < start - this.windowMs) this.windows.delete(key);
    }
  }

  get trackedKeys(): number {
    return this.windows.size;
  }
}

/** A per-minute limiter, or null for 0 (off): per token (RATE_LIMIT_PER_MINUTE), per address (AUTH_FAILURES_PER_MINUTE). */
export function tokenRateLimiter(perMinute: number): SlidingWindowRateLimiter | null {
  return perMinute > 0 ? new SlidingWindowRateLimiter(perMinute) : null;
}

/** After authentication: 429 with Retry-After once the caller's token is over its limit. */
export function rateLimit(limiter: SlidingWindowRateLimiter | null): RequestHandler {
  return async (req, _res, next) => {
    const tokenId = req.auth?.tokenId;
    if (limiter && tokenId) {
      const decision = limiter.hit(tokenId);
      if (!decision.allowed) {
        // A recalled token (see AccountsService.recall) that is no longer usable answers 401 first.
        await req.auth?.check?.();
        throw new AppError(
          "rate_limited",
          `this token is over its limit of ${limiter.limit} requests per minute; retry in ${decision.retryAfterSeconds} s`,
          { retryAfterSeconds: decision.retryAfterSeconds },
        );
      }
    }
    next();
  };
}
