import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Prisma } from "../../db/database.js";
import { tracesRepository } from "../../repositories/traces.js";

/**
 * Periodically ends runs nobody reports on any more: an open run (pending/active) without
 * activity for RUN_TIMEOUT_MS becomes terminated with termination_reason "timed_out" (AgentVista:
 * timed_out), and its open spans are closed. Works across all accounts; safe with several
 * replicas (each sweep is one conditional UPDATE, so two sweepers cannot double-process a run).
 */
export class StaleRunSweeper {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** Sweeps failed in a row. */
  private failing = 0;

  constructor(
    private readonly prisma: Prisma,
    private readonly config: Pick<Config, "RUN_TIMEOUT_MS" | "SWEEP_INTERVAL_MS">,
    private readonly logger?: Logger,
  ) {}

  /** One sweep as of `now`; tests call it directly instead of waiting for the timer. */
  sweepStaleRuns(now = new Date()) {
    return tracesRepository.sweepStaleRuns(this.prisma, now, new Date(now.getTime() - this.config.RUN_TIMEOUT_MS));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.config.SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = this.sweepStaleRuns()
      .then((swept) => {
        if (this.failing) this.logger?.info({ failedSweeps: this.failing }, "stale-run sweeps work again");
        this.failing = 0;
        if (swept.runs > 0) this.logger?.info(swept, "timed out stale runs");
      })
      .catch((err: unknown) => {
        // One line when sweeps start failing (a database outage fails every tick until it ends),
        // one when they work again; the sweep after the outage catches up on what was missed.
        if (this.failing++ === 0) this.logger?.error({ err }, "stale-run sweep failed; retrying every interval until it works");
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }
}
