import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * How long one request may hold the event loop. The machine the suites run on has 2 shared cores
 * and other test processes: a quiet-machine request of a few ms is seen at up to ~150 ms there
 * (descheduling, a major GC). The CPU bombs these suites guard against held the loop 2.4-26 s.
 */
export const LOOP_BLOCK_BOUND_MS = 500;

/**
 * Runs `work` (requests served in this process, through supertest) and measures the longest
 * stretch during which the event loop did not turn, in ms (10 ms resolution).
 */
export async function longestBlock<T>(work: () => Promise<T>): Promise<{ result: T; blockedMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    return { result, blockedMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}
