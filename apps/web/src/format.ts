// Numbers and times as people read them. Pure functions: unit-tested without a browser.

const DASH = "—";

/** US dollars: two decimals from $1, two significant digits below ($0.0045), "$0.00" for zero. */
export function formatCost(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return DASH;
  const usd = typeof value === "string" ? Number(value) : value;
  if (!Number.isFinite(usd)) return DASH;
  if (usd === 0) return "$0.00";
  if (Math.abs(usd) >= 1) return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return `$${Number(usd.toPrecision(2)).toFixed(Math.max(2, decimalsOf(usd)))}`;
}

function decimalsOf(x: number): number {
  // Digits after the point needed for two significant digits.
  return Math.min(12, 1 - Math.floor(Math.log10(Math.abs(x))));
}

/** Token counts: 950, 1.5k, 12k, 2.3M. */
export function formatTokens(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const abs = Math.abs(value);
  if (abs < 1000) return String(Math.round(value));
  if (abs < 999_950) return `${trim(value / 1000, abs < 9_950 ? 1 : 0)}k`;
  return `${trim(value / 1_000_000, abs < 9_950_000 ? 1 : 0)}M`;
}

function trim(x: number, decimals: number): string {
  return x.toFixed(decimals).replace(/\.0+$/, "");
}

/** Durations: 850 ms, 1.7 s, 12 s, 2 min 5 s, 1 h 5 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 9.95) return `${trim(s, 1)} s`;
  if (s < 59.5) return `${Math.round(s)} s`;
  const totalS = Math.round(s);
  if (totalS < 3600) {
    const m = Math.floor(totalS / 60);
    const rest = totalS % 60;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  const totalMin = Math.round(totalS / 60);
  const h = Math.floor(totalMin / 60);
  const rest = totalMin % 60;
  if (h >= 48) return `${trim(h / 24, 1)} d`;
  return rest ? `${h} h ${rest} min` : `${h} h`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 5 min" for the future. */
export function formatRelative(at: Date | string, now: Date = new Date()): string {
  const then = typeof at === "string" ? new Date(at) : at;
  const diff = now.getTime() - then.getTime();
  if (!Number.isFinite(diff)) return DASH;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 5_000) return "just now";
  if (abs < 60_000) text = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.floor(abs / 3_600_000)} h`;
  else text = `${Math.floor(abs / 86_400_000)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** Local date and time, to the second. */
export function formatDateTime(at: string | null | undefined): string {
  if (!at) return DASH;
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? DASH : dateTime.format(date);
}

/** A percentage with at most one decimal: 92.5%, 100%. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${trim(value, value % 1 === 0 ? 0 : 1)}%`;
}

/** Bytes: 812 B, 12.3 KB, 4.1 MB. */
export function formatBytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${trim(value / 1024, 1)} KB`;
  return `${trim(value / (1024 * 1024), 1)} MB`;
}
