import { statfsSync } from "node:fs";
import type { Logger } from "pino";

/**
 * Free space under the embedded database's directory. PGlite on a full disk does not fail
 * cleanly: when it cannot create its next 16 MB WAL segment it spins at 100% CPU for good (no
 * error, /healthz dead, SIGTERM ignored, freeing space does not help). So writes are refused
 * (503, readiness false) while less than DISK_FREE_MIN_MB is free, before PGlite gets there, and
 * accepted again once space is back. Reads go on: they need no new space.
 */
export class DiskSpaceGuard {
  private timer: NodeJS.Timeout | undefined;
  private low = false;

  constructor(
    private readonly dir: string,
    private readonly minFreeBytes: number,
    private readonly logger?: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  /** Free bytes for unprivileged writers (what PGlite, running as this user, can use). */
  freeBytes(): number {
    const stats = statfsSync(this.dir);
    return stats.bavail * stats.bsize;
  }

  /** Whether writes must be refused now; re-read at most every interval by the timer. */
  get full(): boolean {
    return this.low;
  }

  /** Reads the free space and logs a change once ("disk full" / "free again"). */
  check(): boolean {
    let free: number;
    try {
      free = this.freeBytes();
    } catch {
      // The directory vanished or cannot be read: PGlite's own errors say so; no guessing here.
      return this.low;
    }
    const low = free < this.minFreeBytes;
    if (low !== this.low) {
      const fields = { dir: this.dir, freeMb: Math.floor(free / 2 ** 20), minFreeMb: Math.floor(this.minFreeBytes / 2 ** 20) };
      if (low) this.logger?.error(fields, "disk full: refusing writes (503) until more space is free; reads go on");
      else this.logger?.info(fields, "disk space available again: accepting writes");
    }
    this.low = low;
    return low;
  }

  start(): void {
    this.check();
    this.timer ??= setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What a write refused by the guard throws: classified as a transient database failure (503). */
export class DiskFullError extends Error {
  readonly code = "ENOSPC";
  constructor(dir: string) {
    super(`disk full: too little free space for the embedded database in ${dir}`);
    this.name = "DiskFullError";
  }
}
