// What the server's PostgreSQL sessions are doing during a timed window: pg_stat_activity of the
// bench database sampled every 50 ms on a connection of its own. A session running a statement
// with no wait event is on CPU; otherwise the wait event says why it is not (a row lock held by
// another transaction, WAL flush at commit, ...). "idle in transaction" means PostgreSQL waits for
// the server (a round trip inside an open transaction).
import type { SqlConn } from "./sql.js";

interface Sample {
  what: string;
  n: number;
}

export class WaitSampler {
  private timer: NodeJS.Timeout | null = null;
  private counts = new Map<string, number>();
  private samples = 0;
  private busy = false;

  constructor(private readonly conn: SqlConn, private readonly database: string) {}

  start(): void {
    this.counts.clear();
    this.samples = 0;
    this.timer = setInterval(() => void this.sample(), 50);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const rows = await this.conn.query<Sample>(
        `SELECT CASE
                  WHEN state = 'active' AND wait_event IS NULL THEN 'running (CPU)'
                  WHEN state = 'active' THEN wait_event_type || ':' || wait_event
                  ELSE state
                END AS what, count(*)::int AS n
         FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'
         GROUP BY 1`,
        [this.database],
      );
      this.samples++;
      for (const r of rows) this.counts.set(r.what, (this.counts.get(r.what) ?? 0) + r.n);
    } catch {
      // a sample lost is no harm
    } finally {
      this.busy = false;
    }
  }

  /** "avg 3.1 busy sessions: Lock:transactionid 1.2, running (CPU) 0.9, ..." */
  stop(): string {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.samples === 0) return "";
    if (this.counts.size === 0) return `PostgreSQL: no busy session seen (${this.samples} samples)`;
    const total = [...this.counts.values()].reduce((a, b) => a + b, 0) / this.samples;
    const parts = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([what, n]) => `${what} ${(n / this.samples).toFixed(1)}`);
    return `PostgreSQL: ${total.toFixed(1)} busy sessions on average (${parts.join(", ")}; ${this.samples} samples)`;
  }
}
