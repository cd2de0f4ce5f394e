import type { Logger } from "pino";
import type { Prisma } from "../../db/database.js";
import { usageRepository } from "../../repositories/usage.js";
import { AppError } from "../shared/app-error.js";

export const MONTHLY_LIMIT_MESSAGE = "Monthly event limit exceeded.";

/** Events reserved for a write, before it is made. */
export interface EventReservation {
  /**
   * Gives back the events that were not stored after all (`stored` of those reserved). Never
   * throws: a failed give-back is logged, and only ever leaves the counter too high.
   */
  settle(stored: number): Promise<void>;
}

const NOTHING_RESERVED: EventReservation = { settle: async () => {} };

/** Seconds from `now` until the next UTC month begins: when a refused write can succeed again. */
export function secondsUntilNextMonth(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/**
 * The monthly event quota (EVENT_LIMIT_MONTHLY): events are spans received, counted per account
 * and UTC month, whichever way they come in (Prefactor span creates and /bulk, AgentVista batches,
 * OTLP). Every ingest path reserves its spans here before writing them and settles afterwards.
 */
export class EventQuota {
  constructor(
    private readonly prisma: Prisma,
    private readonly limit: number | undefined,
    private readonly logger?: Logger,
  ) {}

  /**
   * Reserves `events` in the account's current month, in one statement (so concurrent writers
   * cannot pass the limit together). Over the limit: throws 429 `rate_limited` with Retry-After
   * until the month rolls over, and nothing is counted. Without a limit nothing is counted at all:
   * it would cost every write a commit on one hot row for a figure nothing reads (a limit set
   * mid-month counts from then on).
   */
  async reserve(accountId: string, events: number, now = new Date()): Promise<EventReservation> {
    if (this.limit === undefined || events <= 0) return NOTHING_RESERVED;
    const month = now.toISOString().slice(0, 7);
    if (!(await usageRepository.reserveEvents(this.prisma, accountId, month, events, this.limit))) {
      throw new AppError("rate_limited", MONTHLY_LIMIT_MESSAGE, { retryAfterSeconds: secondsUntilNextMonth(now) });
    }
    return {
      settle: async (stored) => {
        await usageRepository.releaseEvents(this.prisma, accountId, month, events - stored).catch((err: unknown) => {
          this.logger?.warn({ err }, "could not release reserved events");
        });
      },
    };
  }
}
