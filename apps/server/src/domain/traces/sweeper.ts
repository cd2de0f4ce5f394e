import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Prisma } from "../../db/database.js";
import { tracesRepository } from "../../repositories/traces.js";
import { metrics } from "../../metrics.js";
import { PeriodicTask } from "../shared/periodic.js";

/**
 * How stale a run's activity mark may get before a span write rewrites it: writing it on every
 * span would make each span write also update its run's row (one hot row per busy run), so it is
 * written at most once per this interval, which is a quarter of the time-out (at most a minute):
 * a run with a span write at least every RUN_TIMEOUT_MS * 3/4 is never swept.
 */
export function activityMarkEveryMs(runTimeoutMs: number): number {
  return Math.min(60_000, Math.floor(runTimeoutMs / 4));
}

/**
 * Periodically ends runs nobody reports on any more: an open run (pending/active) without
 * activity for RUN_TIMEOUT_MS becomes terminated with termination_reason "timed_out" (AgentVista:
 * timed_out), and its open spans are closed. Works across all accounts; safe with several
 * replicas (each sweep is one conditional UPDATE, so two sweepers cannot double-process a run).
 */
export class StaleRunSweeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly prisma: Prisma,
    private readonly config: Pick<Config, "RUN_TIMEOUT_MS" | "SWEEP_INTERVAL_MS">,
    logger?: Logger,
    paused?: () => boolean,
  ) {
    this.task = new PeriodicTask("stale-run sweep", config.SWEEP_INTERVAL_MS, async () => {
      const swept = await this.sweepStaleRuns();
      metrics.staleRunsSwept(swept.runs);
      if (swept.runs > 0) logger?.info(swept, "timed out stale runs");
    }, logger, paused);
  }

  /** One sweep as of `now`; tests call it directly instead of waiting for the timer. */
  sweepStaleRuns(now = new Date()) {
    return tracesRepository.sweepStaleRuns(this.prisma, now, new Date(now.getTime() - this.config.RUN_TIMEOUT_MS));
  }

  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void> {
    return this.task.stop();
  }
}
