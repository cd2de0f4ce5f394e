import type { Logger } from "pino";

/**
 * Background work on a timer (sweeps, purges): one run at a time, the timer never keeps the
 * process alive, and a failing task logs one line when it starts failing (a database outage fails
 * every tick until it ends) and one when it works again; the next run catches up on what was missed.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** Runs failed in a row. */
  private failing = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly logger?: Logger,
    /** While it answers true, ticks are skipped (the embedded database's disk is nearly full). */
    private readonly paused: () => boolean = () => false,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private tick(): void {
    if (this.inFlight || this.paused()) return;
    this.inFlight = this.work()
      .then(() => {
        if (this.failing) this.logger?.info({ failedRuns: this.failing }, `${this.name}s work again`);
        this.failing = 0;
      })
      .catch((err: unknown) => {
        if (this.failing++ === 0) this.logger?.error({ err }, `${this.name} failed; retrying every interval until it works`);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }
}
