// The waterfall's shared time axis: where each bar sits and which ticks the ruler shows.

export interface Timed {
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
}

export interface Extent {
  /** Epoch ms of the axis origin (the earliest start). */
  start: number;
  /** Axis length in ms (at least 1). */
  length: number;
}

/** When a span ended: ended_at, else start + duration, else (still running) `now`. */
export function endOf(span: Timed, now: number): number {
  const start = Date.parse(span.started_at);
  if (span.ended_at) return Math.max(start, Date.parse(span.ended_at));
  if (span.duration_ms !== null) return start + span.duration_ms;
  return Math.max(start, now);
}

/** The axis covering the run and every span (spans may start before or end after their run). */
export function extentOf(run: Timed, spans: readonly Timed[], now: number): Extent {
  let start = Date.parse(run.started_at);
  let end = endOf(run, now);
  for (const span of spans) {
    const s = Date.parse(span.started_at);
    if (s < start) start = s;
    const e = endOf(span, now);
    if (e > end) end = e;
  }
  return { start, length: Math.max(1, end - start) };
}

/** A bar as fractions of the axis (0..1); at least `minWidth` wide so instant spans stay visible. */
export function barOf(span: Timed, extent: Extent, now: number, minWidth = 0.002): { left: number; width: number } {
  const s = Date.parse(span.started_at);
  const left = clamp((s - extent.start) / extent.length, 0, 1);
  const width = clamp((endOf(span, now) - s) / extent.length, minWidth, 1 - left);
  return { left, width: Math.max(width, Math.min(minWidth, 1 - left)) };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

const STEPS = [1, 2, 5];

/** A "nice" tick step (1, 2 or 5 × 10^k ms, or whole seconds/minutes/hours) giving at most `maxTicks` intervals. */
export function tickStep(length: number, maxTicks = 6): number {
  const raw = length / Math.max(1, maxTicks);
  const human = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000];
  if (raw > 1_000) {
    const found = human.find((h) => h >= raw);
    if (found) return found;
    return Math.ceil(raw / 86_400_000) * 86_400_000;
  }
  // Never below a millisecond: spans are timed to the ms.
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const step of STEPS) if (step * magnitude >= raw) return step * magnitude;
  return 10 * magnitude;
}

/** Tick offsets (ms from the axis start), from 0 up to the axis length. */
export function ticksOf(length: number, maxTicks = 6): number[] {
  const step = tickStep(length, maxTicks);
  const out: number[] = [];
  for (let t = 0; t <= length + 1e-9; t += step) out.push(Number(t.toFixed(6)));
  return out;
}

/** A ruler label: 0, 250 ms, 1.5 s, 2 min, 1 h 30 min. */
export function tickLabel(offset: number): string {
  if (offset === 0) return "0";
  if (offset < 1000) return `${Number(offset.toPrecision(3))} ms`;
  if (offset < 60_000) return `${Number((offset / 1000).toFixed(3))} s`;
  if (offset < 3_600_000) {
    const m = Math.floor(offset / 60_000);
    const s = Math.round((offset % 60_000) / 1000);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(offset / 3_600_000);
  const m = Math.round((offset % 3_600_000) / 60_000);
  return m ? `${h} h ${m} min` : `${h} h`;
}
