import { createHash } from "node:crypto";
import type { Prisma } from "../../db/database.js";
import { idempotencyRepository } from "../../repositories/idempotency.js";
import type { Db } from "../../repositories/types.js";
import { AppError } from "../shared/app-error.js";

export interface Outcome {
  status: number;
  body: unknown;
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

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${method} ${path}\n${canonicalJson(body ?? null)}`).digest("hex");
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

  async run(accountId: string, key: string | undefined, fingerprint: string, effect: (tx: Db) => Promise<Outcome>): Promise<StoredOutcome> {
    return this.prisma.$transaction(async (tx) => {
      if (key === undefined) {
        const outcome = await effect(tx);
        return { status: outcome.status, text: JSON.stringify(outcome.body), replayed: false };
      }
      await idempotencyRepository.lock(tx, accountId, key);
      const now = new Date();
      const existing = await idempotencyRepository.find(tx, accountId, key);
      if (existing && existing.expiresAt > now) {
        if (existing.requestHash !== fingerprint) {
          throw new AppError("idempotency_key_already_used", "this idempotency_key was already used for a different request");
        }
        return { status: existing.statusCode, text: existing.responseBody, replayed: true };
      }
      const outcome = await effect(tx);
      const text = JSON.stringify(outcome.body);
      await idempotencyRepository.save(tx, {
        accountId,
        key,
        requestHash: fingerprint,
        statusCode: outcome.status,
        responseBody: text,
        expiresAt: new Date(now.getTime() + this.ttlHours * 3_600_000),
      });
      return { status: outcome.status, text, replayed: false };
    }, TX);
  }

  deleteExpired(now = new Date()) {
    return idempotencyRepository.deleteExpired(this.prisma, now);
  }
}
