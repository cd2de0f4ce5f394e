import type { Logger } from "pino";

/**
 * Background work on a timer (sweeps, purges): one run at a time, a failed run is logged and the
 * next one comes at the next tick, and the timer never keeps the process alive.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly logger?: Logger,
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
    if (this.inFlight) return;
    this.inFlight = this.work()
      .catch((err: unknown) => {
        this.logger?.error({ err }, `${this.name} failed`);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }
}
