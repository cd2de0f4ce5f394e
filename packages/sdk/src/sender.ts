import type { Schemas, SpyglassClient } from "@spyglass/client";
import { SpyglassError } from "./errors.js";

export type BulkItem = Schemas["BulkItem"];

/** What the queue knows about a run: a run the server refused or terminated takes its queued work with it. */
export interface RunLink {
  id: string;
  dead: boolean;
}

/** One unit of queued work, sent in queue order. Bulk items travel in batches; an outcome alone. */
export type Work =
  | { kind: "bulk"; seq: number; run: RunLink; item: BulkItem; frozen: boolean }
  | { kind: "outcome"; seq: number; run: RunLink; body: Schemas["AvOutcomeUpdate"]; frozen: boolean };

/** Work as the tracer hands it over; the queue numbers and freezes it. */
type NewWork = DistributiveOmit<Work, "seq" | "frozen">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SenderOptions {
  client: SpyglassClient;
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  requestTimeoutMs: number;
  report: (error: SpyglassError) => void;
}

export interface SenderStats {
  /** Items waiting to be sent (or being sent). */
  queued: number;
  /** Items the server acknowledged. */
  sent: number;
  /** Items never sent: the queue was full, or shutdown gave up on them. */
  dropped: number;
  /** Items the server refused (reported through onError). */
  failed: number;
  /** Requests retried after a network error, a 429 or a 5xx. */
  retries: number;
}

type Step = { retryInMs?: number };

/**
 * Prefactor error codes that mean "not now", not "the request is wrong": worth a retry. The server
 * answers a database outage (`unavailable`) and the quota (`rate_limited`) for the whole request,
 * with Retry-After; should an item carry one, it is retried all the same.
 */
const TRANSIENT_CODES = new Set(["unexpected", "unknown", "unavailable", "rate_limited"]);
/** Retry-After beyond this is taken as this: the queue is bounded, waiting longer only loses more. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * The background half of the SDK: a bounded FIFO of work, sent one request at a time (the order
 * matters: a run is registered before its spans, a parent created before its children), in
 * batches of up to `batchSize` items when a batch is full, every `flushIntervalMs`, or at once
 * while someone waits in flush(). Every item carries an idempotency key fixed when it was queued,
 * and its body is frozen once it has been in a request, so resending a batch never duplicates.
 */
export class Sender {
  private queue: (Work | undefined)[] = [];
  private head = 0;
  private seq = 0;
  private running = false;
  private closed = false;
  private aborted = false;
  private attempt = 0;
  /** After a 413, the next request carries fewer items. */
  private limit: number;
  private readonly stats = { sent: 0, dropped: 0, failed: 0, retries: 0 };
  private readonly waiters: { target: number; resolve: () => void }[] = [];
  private readonly interval: ReturnType<typeof setInterval>;
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null;
  private readonly inflight = new Set<AbortController>();
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly options: SenderOptions) {
    this.limit = options.batchSize;
    // Unreferenced: the SDK must never be what keeps an agent's process alive (flush and
    // shutdown hold it open while they wait).
    this.interval = setInterval(() => this.kick(), options.flushIntervalMs);
    this.interval.unref?.();
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  snapshot(): SenderStats {
    return { queued: this.size, ...this.stats };
  }

  /** Queues work; false (and counted as dropped) when the queue is full or the SDK is shut down. */
  enqueue(work: NewWork): Work | null {
    if (this.closed || this.size >= this.options.maxQueueSize) {
      this.stats.dropped++;
      return null;
    }
    const queued = { ...work, seq: ++this.seq, frozen: false } as Work;
    this.queue.push(queued);
    if (this.size >= this.options.batchSize) this.kick();
    return queued;
  }

  /** Counts work that was never queued because what it depends on was dropped. */
  drop(count = 1): void {
    this.stats.dropped += count;
  }

  /** Resolves once everything queued before the call is acknowledged, refused or dropped, or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void> {
    const target = this.seq;
    if (this.doneUpTo() >= target) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = {
        target,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          this.holdProcess();
          resolve();
        }, timeoutMs);
      }
      this.holdProcess();
      this.kick();
    });
  }

  /** Stops taking work, sends what is queued for up to `timeoutMs`, then drops (and counts) the rest. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return this.loopDone;
    this.closed = true;
    clearInterval(this.interval);
    await this.flush(timeoutMs);
    this.aborted = true;
    for (const controller of this.inflight) controller.abort();
    this.wake();
    await this.loopDone;
    this.stats.dropped += this.size;
    this.queue = [];
    this.head = 0;
    this.settle();
  }

  private doneUpTo(): number {
    const front = this.queue[this.head];
    return front ? front.seq - 1 : this.seq;
  }

  /** While someone waits in flush(), a referenced timer keeps the process from exiting under them. */
  private holdProcess(): void {
    if (this.waiters.length > 0 && !this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30);
    else if (this.waiters.length === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const done = this.doneUpTo();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.target <= done) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
    this.holdProcess();
  }

  private kick(): void {
    if (this.running || this.aborted || this.sleeping || this.size === 0) return;
    this.running = true;
    this.loopDone = this.loop()
      .catch((error: unknown) => this.options.report(new SpyglassError("internal", `sender failed: ${String(error)}`, { cause: error })))
      .finally(() => {
        this.running = false;
        this.settle();
      });
  }

  private async loop(): Promise<void> {
    while (this.size > 0 && !this.aborted) {
      const step = await this.sendNext();
      this.settle();
      if (step.retryInMs !== undefined) {
        this.stats.retries++;
        await this.sleep(step.retryInMs);
        continue;
      }
      this.attempt = 0;
      // Between intervals only full batches go; a waiting flush() takes everything.
      if (this.waiters.length === 0 && this.size < this.options.batchSize) break;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake(), ms);
      // Unreferenced like the interval; a waiting flush() holds the process open itself.
      timer.unref?.();
      this.sleeping = {
        timer,
        wake: () => {
          this.sleeping = null;
          resolve();
        },
      };
    });
  }

  private wake(): void {
    if (!this.sleeping) return;
    clearTimeout(this.sleeping.timer);
    this.sleeping.wake();
  }

  private backoff(): number {
    const ceiling = Math.min(this.options.maxRetryDelayMs, this.options.initialRetryDelayMs * 2 ** this.attempt);
    this.attempt++;
    // "Equal jitter": never less than half the step, so a fleet of agents spreads out without
    // anyone hammering a recovering server at once.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** Takes the front item off the queue (it was acknowledged, refused or its run is gone). */
  private shift(): void {
    this.queue[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Takes every queued item of a run the server will not accept anything more for. */
  private purge(run: RunLink): void {
    run.dead = true;
    const kept = this.queue.slice(this.head).filter((w) => w!.run !== run);
    this.stats.failed += this.size - kept.length;
    this.queue = kept;
    this.head = 0;
  }

  private refuse(work: Work, error: SpyglassError): void {
    this.stats.failed++;
    this.shift();
    this.options.report(error);
    if (work.kind === "bulk" && work.item._type === "agent_instances/register") this.purge(work.run);
  }

  private async request<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)), this.options.requestTimeoutMs);
    timer.unref?.();
    this.inflight.add(controller);
    try {
      return await send(controller.signal);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }

  /** How to go on after an HTTP failure of a whole request: retry (429, 408, 5xx) or give the batch up. */
  private failedRequest(response: Response, error: unknown, batch: Work[]): Step {
    const status = response.status;
    if (status === 429 || status === 408 || status >= 500) {
      this.options.report(new SpyglassError("http", `the server answered ${status}; retrying`, { status, body: error }));
      const after = parseRetryAfter(response.headers.get("retry-after"));
      return { retryInMs: after ?? this.backoff() };
    }
    if (status === 413 && batch.length > 1) {
      this.limit = Math.ceil(batch.length / 2);
      return {};
    }
    for (const work of batch) {
      // A refused registration takes the rest of its run out of the queue with it.
      if (this.queue[this.head] !== work) continue;
      this.refuse(work, new SpyglassError("rejected", `the server refused the request with ${status}`, { status, body: error, item: work }));
    }
    return {};
  }

  private async sendNext(): Promise<Step> {
    const front = this.queue[this.head]!;
    if (front.run.dead) {
      this.stats.failed++;
      this.shift();
      return {};
    }
    if (front.kind === "outcome") return this.sendOutcome(front);

    const batch: Extract<Work, { kind: "bulk" }>[] = [];
    for (let i = this.head; i < this.queue.length && batch.length < this.limit; i++) {
      const work = this.queue[i]!;
      if (work.kind !== "bulk") break;
      work.frozen = true;
      batch.push(work);
    }
    let answer;
    try {
      answer = await this.request((signal) => this.options.client.POST("/api/v1/bulk", { body: { items: batch.map((w) => w.item) }, signal }));
    } catch (error) {
      if (this.aborted) return {};
      this.options.report(new SpyglassError("network", `could not reach the server: ${messageOf(error)}; retrying`, { cause: error }));
      return { retryInMs: this.backoff() };
    }
    const { data, error, response } = answer;
    if (!data) return this.failedRequest(response, error, batch);
    this.limit = this.options.batchSize;

    for (const work of batch) {
      // The queue may have lost a run meanwhile (purge); only the front is ours to settle.
      if (this.queue[this.head] !== work) break;
      const out = data.outputs[work.item.idempotency_key];
      if (!out) break; // not reached: the server stopped at an earlier item; it goes again next time
      if (out.status === "success") {
        this.stats.sent++;
        this.shift();
        continue;
      }
      if (TRANSIENT_CODES.has(out.code)) {
        this.options.report(new SpyglassError("http", `the server failed on ${work.item._type} (${out.code}): ${out.message}; retrying`, { code: out.code }));
        return { retryInMs: this.backoff() };
      }
      // A run the server terminated answers every later write with control.terminate; finishing it is moot.
      if (work.item._type === "agent_instances/finish" && out.code === "invalid_action") {
        this.stats.sent++;
        this.shift();
        continue;
      }
      this.refuse(work, new SpyglassError("rejected", `the server refused ${work.item._type} (${out.code}): ${out.message}`, { code: out.code, body: out, item: work }));
      if (out.control?.terminate) this.purge(work.run);
    }
    return {};
  }

  private async sendOutcome(work: Extract<Work, { kind: "outcome" }>): Promise<Step> {
    work.frozen = true;
    let answer;
    try {
      answer = await this.request((signal) =>
        this.options.client.PATCH("/api/v1/dashboard/traces/{trace_id}/outcome", { params: { path: { trace_id: work.run.id } }, body: work.body, signal }),
      );
    } catch (error) {
      if (this.aborted) return {};
      this.options.report(new SpyglassError("network", `could not reach the server: ${messageOf(error)}; retrying`, { cause: error }));
      return { retryInMs: this.backoff() };
    }
    if (!answer.data) return this.failedRequest(answer.response, answer.error, [work]);
    this.stats.sent++;
    this.shift();
    return {};
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
