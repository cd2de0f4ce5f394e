import type { AvTraceBatchItem } from "@spyglass/contracts";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Prisma } from "../../db/database.js";
import { tracesRepository } from "../../repositories/traces.js";
import { usageRepository } from "../../repositories/usage.js";
import type { AuthContext } from "../accounts/service.js";
import type { CatalogService } from "../catalog/service.js";
import { AppError } from "../shared/app-error.js";
import { normalizeTraceItem, type NormalizedTrace } from "./normalize.js";

export interface BatchError {
  index: number;
  traceId: string | null;
  message: string;
}

export interface BatchOutcome {
  /** Indexes of the traces stored. */
  accepted: number[];
  errors: BatchError[];
}

/** Thrown inside a trace's transaction to reject that trace only. */
class TraceRejected extends Error {}

const RETRYABLE = new Set(["40001", "40P01"]);

/** The SQLSTATE of a failed raw query, if the error carries one. */
function sqlState(error: unknown): string | undefined {
  const meta = (error as { meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }).meta;
  const code = meta?.driverAdapterError?.cause?.originalCode ?? meta?.driverAdapterError?.cause?.code ?? meta?.code;
  return typeof code === "string" ? code : undefined;
}

function sqlMessage(error: unknown): string {
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }).meta?.driverAdapterError?.cause;
  return typeof cause?.originalMessage === "string" ? cause.originalMessage : "value out of range";
}

export const MONTHLY_LIMIT_MESSAGE = "Monthly event limit exceeded.";

/**
 * Batch ingestion of traces (runs) and spans. Each trace is stored atomically with its spans;
 * one bad trace does not reject the others. Repeats move data forward only.
 */
export class TraceIngestService {
  constructor(
    private readonly prisma: Prisma,
    private readonly catalog: CatalogService,
    private readonly config: Pick<Config, "EVENT_LIMIT_MONTHLY">,
    private readonly logger?: Logger,
  ) {}

  async ingestBatch(auth: AuthContext, items: { index: number; item: AvTraceBatchItem }[], now = new Date()): Promise<BatchOutcome> {
    const errors: BatchError[] = [];
    const reject = (t: { index: number; traceId: string | null }, message: string) => errors.push({ index: t.index, traceId: t.traceId, message });

    const traces: NormalizedTrace[] = [];
    for (const { index, item } of items) {
      const result = normalizeTraceItem(index, item);
      if (result.ok) traces.push(result.trace);
      else reject(result, result.message);
    }

    // Events are the spans received; the whole batch is refused when it does not fit the month.
    // Without a limit nothing is counted: the counter would be one more commit on one hot row per
    // batch, for a figure nothing reads (a limit set mid-month counts from then on).
    const month = now.toISOString().slice(0, 7);
    const limited = this.config.EVENT_LIMIT_MONTHLY !== undefined;
    const reserved = limited ? traces.reduce((sum, t) => sum + t.spans.length, 0) : 0;
    if (reserved > 0 && !(await usageRepository.reserveEvents(this.prisma, auth.accountId, month, reserved, this.config.EVENT_LIMIT_MONTHLY))) {
      throw new AppError("rate_limited", MONTHLY_LIMIT_MESSAGE);
    }

    const accepted: number[] = [];
    let stored = 0;
    try {
      let writable = await this.checkSpanOwnership(auth, traces, reject);
      if (auth.agentId) {
        // An agent_deployment token writes runs of its own agent only, and creates no agents.
        const own = await this.catalog.getAgent(auth, auth.agentId);
        const mine: NormalizedTrace[] = [];
        for (const t of writable) {
          if (t.agentName === own.name) mine.push(t);
          else reject(t, `this token may only write runs of agent ${own.name}`);
        }
        writable = mine;
      }
      const agentIds = new Map<string, string>();
      for (const name of new Set(writable.map((t) => t.agentName))) {
        agentIds.set(name, (await this.catalog.findOrCreateAgentByName(auth, name)).id);
      }
      for (const trace of writable) {
        const message = await this.writeTrace(auth, trace, agentIds.get(trace.agentName)!);
        if (message !== null) reject(trace, message);
        else {
          accepted.push(trace.index);
          stored += trace.spans.length;
        }
      }
    } finally {
      // Only spans of stored traces count; the rest of the reservation goes back.
      await usageRepository.releaseEvents(this.prisma, auth.accountId, month, reserved - stored).catch((err: unknown) => {
        this.logger?.warn({ err }, "could not release reserved events");
      });
    }
    errors.sort((a, b) => a.index - b.index);
    return { accepted, errors };
  }

  /**
   * A span id names one span of one trace: a trace reusing the id of another trace's span (stored,
   * or earlier in this batch) is rejected. One query for the whole batch.
   */
  private async checkSpanOwnership(
    auth: AuthContext,
    traces: NormalizedTrace[],
    reject: (t: NormalizedTrace, message: string) => void,
  ): Promise<NormalizedTrace[]> {
    const owners = new Map<string, string>();
    const stored = await tracesRepository.spanOwners(
      this.prisma,
      auth.accountId,
      traces.flatMap((t) => t.spans.map((s) => s.id)),
    );
    for (const row of stored) owners.set(row.id, row.traceId);
    const writable: NormalizedTrace[] = [];
    for (const trace of traces) {
      const taken = trace.spans.find((s) => (owners.get(s.id) ?? trace.traceId) !== trace.traceId);
      if (taken) {
        reject(trace, `span ${taken.id} belongs to another trace`);
        continue;
      }
      for (const s of trace.spans) owners.set(s.id, trace.traceId);
      writable.push(trace);
    }
    return writable;
  }

  /** Stores one trace and its spans in one transaction; returns null, or why the trace was rejected. */
  private async writeTrace(auth: AuthContext, trace: NormalizedTrace, agentId: string): Promise<string | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.prisma.$transaction(
          async (tx) => {
            const row = await tracesRepository.upsertInstance(tx, { ...trace.instance, accountId: auth.accountId, agentId });
            if (!row) throw new TraceRejected(`trace ${trace.traceId} already exists for another agent`);
            await tracesRepository.upsertSpans(tx, auth.accountId, trace.traceId, agentId, trace.spans);
            await tracesRepository.refreshTotals(tx, auth.accountId, trace.traceId, trace.reportedTotals);
          },
          { maxWait: 30_000, timeout: 60_000 },
        );
        return null;
      } catch (error) {
        if (error instanceof TraceRejected) return error.message;
        const state = sqlState(error);
        if (state && RETRYABLE.has(state) && attempt < 5) continue;
        // Data exceptions (class 22) come from values the client sent, e.g. a number out of range.
        if (state?.startsWith("22")) return `could not store trace: ${sqlMessage(error)}`;
        throw error;
      }
    }
  }
}
