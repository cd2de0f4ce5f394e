import { createHash } from "node:crypto";
import type { Prisma } from "../../db/database.js";
import { retryWriteConflicts } from "../../db/transient.js";
import { idempotencyRepository } from "../../repositories/idempotency.js";
import type { Db } from "../../repositories/types.js";
import type { AuthContext } from "../accounts/service.js";
import { AppError } from "../shared/app-error.js";

export interface Outcome {
  status: number;
  body: unknown;
  /**
   * What a replay answers instead of `body`, when `body` holds what must not be stored (a new
   * token's secret): the record keeps this, never `body`.
   */
  replay?: unknown;
}

export interface StoredOutcome {
  status: number;
  /** The exact response bytes: a replay sends these again. */
  text: string;
  replayed: boolean;
}

/** JSON with object keys sorted, so that key order does not make two requests "different". */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** A unique violation raised by PostgreSQL (e.g. a key recorded concurrently). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } } };
  const cause = e.meta?.driverAdapterError?.cause;
  // Prisma's own code, the driver error wrapped by Prisma, or the driver's error itself.
  return e.code === "P2002" || e.code === "23505" || cause?.kind === "UniqueConstraintViolation" || cause?.originalCode === "23505";
}

/**
 * What makes two requests "the same" for a key. A deployment token's agent is part of it: a key
 * used by a token of another (or of no) agent restriction is "used for a different request" (409)
 * instead of replaying a response its caller could not have got (keys are per account). Tokens
 * without a restriction hash as before.
 */
export function requestFingerprint(auth: Pick<AuthContext, "agentId">, method: string, path: string, body: unknown): string {
  const restriction = auth.agentId === null ? "" : ` agent:${auth.agentId}`;
  return createHash("sha256").update(`${method} ${path}${restriction}\n${canonicalJson(body ?? null)}`).digest("hex");
}

const TX = { maxWait: 30_000, timeout: 30_000 };

/**
 * Runs a write in one transaction. With a key, the outcome is recorded in the same transaction as
 * the effect: a repeat of the same request replays it byte for byte, a different request with the
 * same key is refused, and failures are not recorded (the client may fix and retry).
 */
export class IdempotencyService {
  constructor(
    private readonly prisma: Prisma,
    private readonly ttlHours: number,
  ) {}

  /**
   * `singleWrite`: the effect writes with one statement (a state transition), so without a key it
   * runs outside a transaction: no BEGIN and COMMIT round trips, nor Prisma's transaction machinery.
   */
  async run(
    accountId: string,
    key: string | undefined,
    fingerprint: string,
    effect: (tx: Db) => Promise<Outcome>,
    options: { singleWrite?: boolean } = {},
  ): Promise<StoredOutcome> {
    if (key === undefined && options.singleWrite) {
      const outcome = await effect(this.prisma);
      return { status: outcome.status, text: JSON.stringify(outcome.body), replayed: false };
    }
    // A deadlock or serialization failure rolled the whole transaction back (the claim too).
    return retryWriteConflicts(() => this.prisma.$transaction(async (tx) => {
      if (key === undefined) {
        const outcome = await effect(tx);
        return { status: outcome.status, text: JSON.stringify(outcome.body), replayed: false };
      }
      const now = new Date();
      if (!(await idempotencyRepository.claim(tx, accountId, key, fingerprint, new Date(now.getTime() + this.ttlHours * 3_600_000)))) {
        const existing = await idempotencyRepository.find(tx, accountId, key);
        if (!existing || existing.requestHash !== fingerprint) {
          throw new AppError("idempotency_key_already_used", "this idempotency_key was already used for a different request");
        }
        return { status: existing.statusCode, text: existing.responseBody, replayed: true };
      }
      const outcome = await effect(tx);
      const text = JSON.stringify(outcome.body);
      await idempotencyRepository.complete(tx, accountId, key, outcome.status, outcome.replay === undefined ? text : JSON.stringify(outcome.replay));
      return { status: outcome.status, text, replayed: false };
    }, TX));
  }

  /** When a record written now should expire. */
  expiry(now = new Date()): Date {
    return new Date(now.getTime() + this.ttlHours * 3_600_000);
  }

  /**
   * The stored outcome for a key, for writes that record it in their own statement: null when the
   * key is free (an expired record is removed), 409 when it was used for another request.
   */
  async replay(accountId: string, key: string, fingerprint: string): Promise<StoredOutcome | null> {
    const existing = await idempotencyRepository.find(this.prisma, accountId, key);
    if (!existing) return null;
    if (existing.expiresAt <= new Date()) {
      await idempotencyRepository.deleteIfExpired(this.prisma, accountId, key);
      return null;
    }
    if (existing.requestHash !== fingerprint) {
      throw new AppError("idempotency_key_already_used", "this idempotency_key was already used for a different request");
    }
    return { status: existing.statusCode, text: existing.responseBody, replayed: true };
  }

  /** Whether any of the keys was used before (its record may have expired): nothing to replay when not. */
  anyUsed(accountId: string, keys: string[]): Promise<boolean> {
    return idempotencyRepository.anyOf(this.prisma, accountId, keys);
  }

  /**
   * Deletes records that expired before `now`, in batches of `batch`, at most `maxBatches` of them
   * (the rest waits for the next purge); how many it deleted.
   */
  async purgeExpired(now = new Date(), batch = PURGE_BATCH, maxBatches = PURGE_MAX_BATCHES): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await idempotencyRepository.deleteExpired(this.prisma, now, batch);
      deleted += n;
      if (n < batch) break;
    }
    return deleted;
  }
}

const PURGE_BATCH = 500;
const PURGE_MAX_BATCHES = 200;
