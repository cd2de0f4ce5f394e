// Percentiles, the result model, and the markdown tables the run prints.

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export interface IngestRow {
  phase: string;
  concurrency: number;
  requests: number | null;
  spans: number;
  spansPerSec: number;
  p50: number | null;
  p99: number | null;
  /** spans/s as a share of the floor's. */
  ofFloor: number | null;
  errors: number;
  /** Server process CPU over the timed window, as a share of one core (Node runs JS on one). */
  serverCpu?: number;
  /** The load driver's own CPU share of one core (near 100% = the client is the limit). */
  driverCpu?: number;
  /** PostgreSQL wait-event summary over the timed window. */
  waits?: string;
  /** Server peak RSS (MB) while the phase ran, warm-up and set-up included. */
  rssPeakMb?: number;
  note?: string;
  skipped?: string;
}

export interface QueryRow {
  key: string;
  label: string;
  n: number;
  p50: number | null;
  p95: number | null;
  floorP50: number;
  floorP95: number;
  limitMs: number | null;
  errors: number;
  /** Server process CPU time per request (ms). */
  serverCpuMsPerRequest?: number;
  waits?: string;
  skipped?: string;
}

export type Verdict = "PASS" | "MISS" | "SKIP";

export interface TargetRow {
  target: string;
  measured: string;
  limit: string;
  verdict: Verdict;
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || Number.isNaN(v) ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const int = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en-US"));
const pct = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? "–" : `${Math.round(v * 100)}%`);

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

export function ingestTable(rows: IngestRow[]): string {
  return table(
    ["phase", "conc.", "requests", "spans", "spans/s", "p50 ms", "p99 ms", "of floor", "server CPU", "driver CPU", "server RSS MB", "errors"],
    rows.map((r) =>
      r.skipped
        ? [r.phase, String(r.concurrency), r.skipped, "", "", "", "", "", "", "", "", ""]
        : [
            r.phase, String(r.concurrency), int(r.requests), int(r.spans), int(r.spansPerSec), fmt(r.p50), fmt(r.p99), pct(r.ofFloor),
            pct(r.serverCpu), pct(r.driverCpu), int(r.rssPeakMb), String(r.errors),
          ],
    ),
  );
}

export function queryTable(rows: QueryRow[]): string {
  return table(
    ["query", "n", "p50 ms", "p95 ms", "floor p50", "floor p95", "p95 / floor", "limit ms", "server CPU ms/req", "errors"],
    rows.map((r) => {
      const ratio = r.p95 === null ? null : r.p95 / r.floorP95;
      return r.skipped
        ? [r.label, String(r.n), r.skipped, "", fmt(r.floorP50, 2), fmt(r.floorP95, 2), "", String(r.limitMs), "", ""]
        : [
            r.label, String(r.n), fmt(r.p50), fmt(r.p95), fmt(r.floorP50, 2), fmt(r.floorP95, 2), ratio === null ? "–" : `${fmt(ratio)}×`,
            r.limitMs === null ? "–" : String(r.limitMs), fmt(r.serverCpuMsPerRequest), String(r.errors),
          ];
    }),
  );
}

export function targetTable(rows: TargetRow[]): string {
  return table(["target", "measured", "limit", "result"], rows.map((r) => [r.target, r.measured, r.limit, r.verdict]));
}

export { fmt, int, pct };
