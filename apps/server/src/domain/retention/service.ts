import type { Logger } from "pino";
import type { SqlDriver } from "../../db/database.js";
import { metrics } from "../../metrics.js";
import { retentionRepository, type RetentionBatch } from "../../repositories/retention.js";

const DAY_MS = 24 * 3_600_000;

/**
 * Deletes runs (with their spans) that ended and were last active more than the account's
 * retention (its override, else RETENTION_DAYS) ago. Small batches, each one statement and its
 * own short transaction, with a turn of the event loop between them: ingest is never blocked for
 * longer than one batch, also on PGlite where everything shares one session.
 */
export class RetentionService {
  constructor(
    private readonly sql: SqlDriver,
    private readonly defaultDays: number | null,
    private readonly logger?: Logger,
    private readonly batchRuns = 500,
  ) {}

  /** One pass as of `now`; returns what it deleted. */
  async purge(now = new Date()): Promise<RetentionBatch> {
    const total = { runs: 0, spans: 0 };
    for (const account of await retentionRepository.accountsWithRetention(this.sql, this.defaultDays)) {
      const cutoff = new Date(now.getTime() - account.days * DAY_MS);
      for (;;) {
        const batch = await retentionRepository.deleteExpired(this.sql, account.id, cutoff, this.batchRuns);
        total.runs += batch.runs;
        total.spans += batch.spans;
        metrics.retentionDeleted(batch.runs, batch.spans);
        if (batch.runs < this.batchRuns) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (total.runs > 0) this.logger?.info(total, "retention: deleted expired runs and their spans");
    return total;
  }
}
