import { AppError } from "./app-error.js";

// Client timestamps, whichever way they come in (Prefactor, AgentVista, OTLP): one parser and one
// window of plausible instants, so that every dialect accepts and refuses the same times.

const PLAIN_UTC = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** ISO 8601 with or without a zone (none = UTC) to an instant; null when Date cannot place it. */
export function parseInstant(value: string): Date | null {
  // The common case (what SDKs send: toISOString's form) in one match.
  const plain = PLAIN_UTC.exec(value);
  if (plain) {
    const day = Number(plain[3]);
    if (new Date(Date.UTC(Number(plain[1]), Number(plain[2]) - 1, day)).getUTCDate() !== day) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  let text = value;
  if (!/(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/.test(text)) text += "Z";
  text = text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2").replace(/([+-]\d{2})$/, "$1:00");
  // Date rolls 2024-02-30 over into March; such a calendar date is refused instead.
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (ymd && new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]))).getUTCDate() !== Number(ymd[3])) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}


/** The earliest instant a client may report: nothing this system observes ran before 2000. */
export const EARLIEST_INSTANT = new Date("2000-01-01T00:00:00Z");
/** How far ahead of the server's clock a client's clock may run. */
export const MAX_AHEAD_MS = 86_400_000;

/**
 * Why a client's timestamp is not accepted, or null when it is: before 2000 (a zero or two-digit
 * year, an epoch mistaken for seconds) or more than a day ahead of the server. A run dated years
 * ahead would stay on top of every newest-first list and count in every window; years 0001-0099
 * are not even read back the same by every driver.
 */
export function instantProblem(instant: Date, now = new Date()): string | null {
  if (instant.getTime() < EARLIEST_INSTANT.getTime()) return "must not be before 2000-01-01T00:00:00Z";
  if (instant.getTime() > now.getTime() + MAX_AHEAD_MS) return "must not be more than a day ahead of the server's clock";
  return null;
}

const invalid = (path: string, problem: string) => new AppError("invalid_value", `${path}: ${problem}`, { fields: [{ path, message: problem }] });

/** A timestamp the client sent (a zone is optional: none means UTC) as an instant, or 400 invalid_value naming `path`. */
export function instantOf(value: string, path: string): Date {
  const instant = parseInstant(value);
  if (!instant) throw invalid(path, "not a valid timestamp");
  return instant;
}

/** A time the client reports something happened at: instantOf, within the accepted window (instantProblem). */
export function clientInstant(value: string, path: string, now = new Date()): Date {
  const instant = instantOf(value, path);
  const problem = instantProblem(instant, now);
  if (problem) throw invalid(path, problem);
  return instant;
}
