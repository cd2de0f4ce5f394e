/**
 * Which database failures are the database's, not the request's: the client should retry the
 * same request later (503 with Retry-After), and nothing about the request needs to change. Every
 * dialect's error mapper (and the OTLP receiver) asks `isTransientDatabaseError`.
 *
 * Errors reach us in three shapes: the driver's own (pg's DatabaseError with a SQLSTATE, a Node
 * socket error, pg-pool's plain Errors), the same wrapped by Prisma (meta.driverAdapterError.cause,
 * or a Prisma P1xxx/P2024/P2034 code), and PGlite's.
 */

/** SQLSTATE classes and codes that say "try again": the server is going away, full or busy. */
const TRANSIENT_STATE = [
  /^08/, // connection exception
  /^53/, // insufficient resources: too many connections, disk full, out of memory
  /^57P0[1-4]$/, // admin/crash shutdown, cannot connect now, database dropped
  /^57014$/, // query cancelled: statement_timeout, or our own cancel on shutdown
  /^55P03$/, // lock not available (lock_timeout)
  /^40001$/, // serialization failure (after our bounded retries)
  /^40P01$/, // deadlock detected (after our bounded retries)
  /^58030$/, // I/O error in the server's storage
];

const WRITE_CONFLICT = new Set(["40001", "40P01"]);

const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ENOSPC"]);

/** Prisma: can't reach, timed out, server closed the connection, pool timeout, write conflict, transaction timed out. */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2034"]);

/** Kinds Prisma's driver adapters give connection-level failures. */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TransactionWriteConflict"]);

/** pg / pg-pool / PGlite errors that carry neither a SQLSTATE nor a socket code. */
const MESSAGES = [
  /^timeout exceeded when trying to connect$/,
  /^Connection terminated/,
  /not queryable/,
  /^Cannot use a pool after calling end on the pool$/,
  /^PGlite is closed$/,
  /^Client was closed and is not queryable$/,
  /\bno space left on device\b/i,
];

/** Five characters, but not Prisma's own codes (P1000-P6999; PL/pgSQL's SQLSTATEs are P0xxx). */
const SQLSTATE = /^(?!P[1-9])[0-9A-Z]{5}$/;

interface Shaped {
  code?: unknown;
  severity?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  meta?: { code?: unknown; driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown; code?: unknown; originalMessage?: unknown; severity?: unknown } } };
}

/** The errors worth looking at: the error, what it wraps, and what an AggregateError holds (bounded). */
function* layers(error: unknown, depth = 0): Generator<Shaped> {
  if (depth > 4 || error === null || typeof error !== "object") return;
  const e = error as Shaped;
  yield e;
  const adapter = e.meta?.driverAdapterError?.cause;
  if (adapter) yield { code: adapter.originalCode ?? adapter.code, message: adapter.originalMessage, kind: adapter.kind, severity: adapter.severity };
  if (e.cause) yield* layers(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors.slice(0, 4)) yield* layers(inner, depth + 1);
}

/** The SQLSTATE of a failed query (from the driver, or wrapped by Prisma), if the error carries one. */
export function sqlState(error: unknown): string | undefined {
  for (const e of layers(error)) {
    for (const code of [e.code, e.meta?.code]) if (typeof code === "string" && SQLSTATE.test(code)) return code;
  }
  return undefined;
}

/** A serialization failure or deadlock: the transaction was rolled back whole and may simply be run again. */
export function isWriteConflict(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined && WRITE_CONFLICT.has(state)) return true;
  for (const e of layers(error)) if (e.code === "P2034" || e.kind === "TransactionWriteConflict") return true;
  return false;
}

/**
 * Whether `error` is a failure to reach or use the database that is not the request's fault: a
 * refused or reset connection, the server shutting down or out of connections, no pooled
 * connection within DB_POOL_ACQUIRE_TIMEOUT_MS, a statement cancelled by DB_STATEMENT_TIMEOUT_MS,
 * a write conflict still failing after the bounded retries, a closed embedded database.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  // The server ended the session (FATAL): refused to let us in (database not accepting
  // connections, a password rotated under us) or going down. Nothing the request can change.
  for (const e of layers(error)) if (e.severity === "FATAL" || e.severity === "PANIC") return true;
  const state = sqlState(error);
  if (state !== undefined) return TRANSIENT_STATE.some((re) => re.test(state));
  for (const e of layers(error)) {
    if (typeof e.code === "string" && (SOCKET_CODES.has(e.code) || PRISMA_CODES.has(e.code))) return true;
    if (typeof e.kind === "string" && ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.message === "string" && MESSAGES.some((re) => re.test(e.message as string))) return true;
  }
  return false;
}

/** How long a client is told to wait before retrying after a transient database failure. */
export const RETRY_AFTER_SECONDS = 2;

/** How often a transaction that hit a write conflict is run again before the conflict is answered (503). */
const CONFLICT_ATTEMPTS = 5;

/**
 * Runs `work` (one whole transaction, or one autocommitted statement) again when it fails with a
 * serialization failure or deadlock, at most CONFLICT_ATTEMPTS times in all, after a short random
 * pause so that the two sides of a deadlock do not meet again at once.
 */
export async function retryWriteConflicts<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= CONFLICT_ATTEMPTS || !isWriteConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
