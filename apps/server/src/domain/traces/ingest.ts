import { availableParallelism } from "node:os";
import { MAX_SPANS_PER_RUN, type AvTraceBatchItem } from "@spyglass/contracts";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { SqlDriver } from "../../db/database.js";
import { retryWriteConflicts, sqlState } from "../../db/transient.js";
import { tracesRepository } from "../../repositories/traces.js";
import type { AuthContext } from "../accounts/service.js";
import type { CatalogService } from "../catalog/service.js";
import type { Priceable, PriceService } from "../prices/service.js";
import type { EventQuota } from "../usage/quota.js";
import { metrics } from "../../metrics.js";
import { generatePfid } from "../shared/pfid.js";
import { normalizeTraceItem, type NormalizedTrace } from "./normalize.js";
import { otelTraces, type OtelSpan } from "./otel.js";

export interface BatchError {
  index: number;
  traceId: string | null;
  message: string;
  /** Why the database refused the trace, in its own words: to be logged with the request id, never sent. */
  detail?: string;
}

export interface BatchOutcome {
  /** Indexes of the traces stored. */
  accepted: number[];
  errors: BatchError[];
}

function sqlMessage(error: unknown): string {
  if (typeof (error as { code?: unknown }).code === "string" && error instanceof Error) return error.message;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }).meta?.driverAdapterError?.cause;
  return typeof cause?.originalMessage === "string" ? cause.originalMessage : "value out of range";
}

/** What the client reads when the database refused a value of a trace: never the database's own text. */
export const UNSTORABLE_TRACE_MESSAGE = "could not store trace: a value is out of range, too long or not storable";
/** The prefix of spyglass_ingest_traces' reason for a trace the database refused a value of (then its error text). */
const DATABASE_REFUSAL = "could not store trace: ";

/** A rejection as the client sees it; `detail` (the database's text) is for the operator's log only. */
function rejection(idx: number, reason: string): { idx: number; reason: string; detail?: string } {
  return reason.startsWith(DATABASE_REFUSAL) ? { idx, reason: UNSTORABLE_TRACE_MESSAGE, detail: reason.slice(DATABASE_REFUSAL.length) } : { idx, reason };
}

/**
 * At most `limit` batches are written at once; the others wait their turn in arrival order. More
 * concurrent batch writes only contend in PostgreSQL (relation extension, WAL) without adding
 * throughput, make latency depend on who wins, and would take every pooled connection from the
 * dashboards' reads during an ingest flood.
 */
export class WriteGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) {
      this.active++;
      metrics.gateWait(0);
    } else {
      const since = performance.now();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      metrics.gateWait((performance.now() - since) / 1000);
    }
    try {
      return await work();
    } finally {
      // Hand the slot to the next in line, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * How many batches one server process writes at once: a quarter of its connections, and no more
 * than the machine's cores. A batch write keeps a PostgreSQL backend busy on CPU; more of them than
 * cores only queue for the CPU together, so every batch in flight takes longer. On 2 cores, 2
 * writers against the 5 of a pool of 20 gave a median p99 at concurrency 16 of 240 ms against
 * 336 ms over four alternating runs (docs/benchmarks.md).
 */
export function batchWriters(poolSize: number, cores: number): number {
  return Math.max(1, Math.min(Math.floor(poolSize / 4), cores));
}

/**
 * Batch ingestion of traces (runs) and spans. Each trace is stored atomically with its spans;
 * one bad trace does not reject the others. Repeats move data forward only.
 */
export class TraceIngestService {
  constructor(
    private readonly sql: SqlDriver,
    private readonly catalog: CatalogService,
    private readonly quota: EventQuota,
    private readonly prices: PriceService,
    config: Pick<Config, "DB_POOL_SIZE">,
    private readonly logger?: Logger,
  ) {
    this.gate = new WriteGate(batchWriters(config.DB_POOL_SIZE, availableParallelism()));
  }

  private readonly gate: WriteGate;

  async ingestBatch(auth: AuthContext, items: { index: number; item: AvTraceBatchItem }[], now = new Date()): Promise<BatchOutcome> {
    const errors: BatchError[] = [];
    const reject = (t: { index: number; traceId: string | null }, message: string, detail?: string) =>
      errors.push({ index: t.index, traceId: t.traceId, message, ...(detail ? { detail } : {}) });

    const traces: NormalizedTrace[] = [];
    for (const { index, item } of items) {
      const result = normalizeTraceItem(index, item, now);
      if (result.ok) traces.push(result.trace);
      else reject(result, result.message);
    }
    const accepted = await this.store(auth, traces, reject, now);
    errors.sort((a, b) => a.index - b.index);
    const stored = new Set(accepted);
    const spans = items.reduce((n, { item }) => n + item.spans.length, 0);
    const acceptedSpans = traces.reduce((n, t) => (stored.has(t.index) ? n + t.spans.length : n), 0);
    metrics.ingest("agentvista", "run", accepted.length, items.length - accepted.length);
    metrics.ingest("agentvista", "span", acceptedSpans, spans - acceptedSpans);
    return { accepted, errors };
  }

  /**
   * OTLP export: the spans grouped into runs by trace, stored like a batch (each run atomically).
   * Returns how many spans were not stored and why, for the response's partial_success.
   */
  async ingestOtel(auth: AuthContext, spans: OtelSpan[], now = new Date()): Promise<{ rejectedSpans: number; messages: string[] }> {
    const traces = otelTraces(spans);
    // A token restricted to one agent writes that agent's runs only, also when a trace is shared.
    if (auth.agentId) for (const t of traces) t.assembly = { hasRoot: t.assembly?.hasRoot ?? false, joinOtherAgent: false };
    const messages: string[] = [];
    const usage = new Map(traces.flatMap((t) => [...t.usage]));
    const accepted = new Set(
      await this.store(auth, traces, (t, message) => messages.push(`trace ${t.traceId ?? "?"}: ${message}`), now, (span) => usage.get(span.id)?.cachedInputTokens ?? null),
    );
    const rejectedSpans = traces.reduce((n, t) => (accepted.has(t.index) ? n : n + t.received), 0);
    metrics.ingest("otlp", "run", accepted.size, traces.length - accepted.size);
    metrics.ingest("otlp", "span", spans.length - rejectedSpans, rejectedSpans);
    return { rejectedSpans, messages };
  }

  /** Stores normalized traces; returns the indexes stored (ascending) and reports the others. */
  private async store(
    auth: AuthContext,
    traces: NormalizedTrace[],
    /** `detail`: the database's own text, for the log only. */
    reject: (t: { index: number; traceId: string | null }, message: string, detail?: string) => void,
    now: Date,
    cachedInput?: (span: Priceable) => number | null,
  ): Promise<number[]> {
    // Events are the spans received; the whole batch is refused when it does not fit the month.
    const reservation = await this.quota.reserve(auth.accountId, traces.reduce((sum, t) => sum + t.spans.length, 0), now);

    let stored = 0;
    const accepted: number[] = [];
    try {
      let writable = this.claimSpanIds(traces, reject);
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
      writable = await this.withinSpanCap(auth, writable, reject);
      await this.prices.price(auth.accountId, writable.flatMap((t) => t.spans), cachedInput);
      // Runs in id order: concurrent batches take their row locks in the same order.
      writable.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : a.index - b.index));
      const agents = [...new Set(writable.map((t) => t.agentName))].map((name) => ({ name, newId: generatePfid(auth.partition) }));
      const rejected = new Map<number, { reason: string; detail?: string }>();
      for (const r of await this.write(auth, agents, writable)) rejected.set(r.idx, rejection(r.idx, r.reason));
      for (const trace of writable) {
        const refused = rejected.get(trace.index);
        if (refused !== undefined) reject(trace, refused.reason, refused.detail);
        else {
          accepted.push(trace.index);
          stored += trace.spans.length;
        }
      }
      accepted.sort((a, b) => a - b);
    } finally {
      // Only spans of stored traces count; the rest of the reservation goes back.
      await reservation.settle(stored);
    }
    return accepted;
  }

  /**
   * A span id names one span of one trace: a trace reusing the id of a span of an earlier trace of
   * this batch is rejected here, and so is one whose parent_span_id names a span of another trace
   * of the batch (the database rejects ids and parents naming other traces' stored spans).
   */
  private claimSpanIds(traces: NormalizedTrace[], reject: (t: NormalizedTrace, message: string) => void): NormalizedTrace[] {
    const owners = new Map<string, string>();
    const claimed = traces.filter((trace) => {
      const taken = trace.spans.find((s) => (owners.get(s.id) ?? trace.traceId) !== trace.traceId);
      if (taken) {
        reject(trace, `span ${taken.id} belongs to another trace`);
        return false;
      }
      for (const s of trace.spans) owners.set(s.id, trace.traceId);
      return true;
    });
    return claimed.filter((trace) => {
      const foreign = trace.spans.find((s) => s.parentSpanId !== null && (owners.get(s.parentSpanId) ?? trace.traceId) !== trace.traceId);
      if (foreign) reject(trace, `span ${foreign.id}: parent_span_id ${foreign.parentSpanId} names a span of another trace`);
      return !foreign;
    });
  }

  /**
   * A run holds at most MAX_SPANS_PER_RUN spans: a trace whose new spans would take it past that is
   * rejected. Checked before the write, so batches racing on one run can pass it together by at
   * most their own spans (100 each).
   */
  private async withinSpanCap(auth: AuthContext, traces: NormalizedTrace[], reject: (t: NormalizedTrace, message: string) => void) {
    if (traces.length === 0) return traces;
    const stored = await tracesRepository.countOtherSpans(
      this.sql,
      auth.accountId,
      traces.map((t) => t.traceId),
      traces.flatMap((t) => t.spans.map((s) => s.id)),
    );
    const added = new Map<string, Set<string>>();
    for (const t of traces) for (const s of t.spans) (added.get(t.traceId) ?? added.set(t.traceId, new Set()).get(t.traceId)!).add(s.id);
    return traces.filter((t) => {
      const total = (stored.get(t.traceId) ?? 0) + (added.get(t.traceId)?.size ?? 0);
      if (total <= MAX_SPANS_PER_RUN) return true;
      reject(t, `a trace holds at most ${MAX_SPANS_PER_RUN} spans; this one would hold ${total}`);
      return false;
    });
  }

  /**
   * Stores the traces in one call, retried on a deadlock or serialization failure (the writes are
   * forward-only upserts, so repeating them is harmless). A value the client sent that a column
   * cannot hold is normally caught per trace; one that fails the whole call (in a run header) is
   * found by storing the traces one by one.
   */
  private async write(auth: AuthContext, agents: { name: string; newId: string }[], traces: NormalizedTrace[]): Promise<{ idx: number; reason: string }[]> {
    try {
      return await retryWriteConflicts(() => this.gate.run(() => tracesRepository.ingestBatch(this.sql, auth.accountId, agents, traces)));
    } catch (error) {
      if (sqlState(error)?.startsWith("22")) {
        if (traces.length === 1) return [{ idx: traces[0]!.index, reason: `${DATABASE_REFUSAL}${sqlMessage(error)}` }];
        const results: { idx: number; reason: string }[] = [];
        for (const trace of traces) results.push(...(await this.write(auth, agents.filter((a) => a.name === trace.agentName), [trace])));
        return results;
      }
      throw error;
    }
  }
}
