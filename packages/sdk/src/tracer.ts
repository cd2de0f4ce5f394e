import { AsyncLocalStorage } from "node:async_hooks";
import { createSpyglassClient, type Schemas } from "@spyglass/client";
import { SpyglassError } from "./errors.js";
import { isoNow, pfid, randomPartition } from "./ids.js";
import { Sender, type BulkItem, type RunLink, type SenderStats, type Work } from "./sender.js";
import { withReservedKeys } from "./span-types.js";

type JsonObject = Record<string, unknown>;
/**
 * The generated type of the contract's nullable JSON-object fields (payload, result_payload) reads
 * as an empty object: openapi-typescript renders `{type: ["object", "null"]}` without properties as
 * `Record<string, never>`. The server accepts any object there.
 */
type JsonField = NonNullable<Schemas["AgentSpanCreateDetails"]["payload"]>;
const asJsonField = (value: JsonObject) => value as JsonField;

/** A span type: what `type` names in `run.span({ type })`, with the schemas and template Spyglass applies to it. */
export interface SpanTypeDefinition {
  name: string;
  title?: string;
  description?: string;
  /** JSON Schema (draft-07 or 2020-12) the span's `input` is checked against. */
  paramsSchema?: JsonObject;
  /** JSON Schema the span's result (the wrapped function's return value) is checked against. */
  resultSchema?: JsonObject;
  /** Liquid template rendered over `{...input, ...result}` into the span's one-line summary. */
  template?: string;
}

export interface SpyglassOptions {
  /** Server origin, e.g. http://localhost:3000. Default: `SPYGLASS_BASE_URL`. */
  baseUrl?: string;
  /** API token with the write scope. Default: `SPYGLASS_TOKEN`. */
  token?: string;
  /** The agent's name; created on first use. */
  agent: string;
  /** The agent's version (its `agent_version.external_identifier`). Default "dev". */
  version?: string;
  spanTypes?: SpanTypeDefinition[];
  /** Environment id; default: the account's default environment. */
  environmentId?: string;
  /** Items per request (at most 100, the server's limit). Default 100. */
  batchSize?: number;
  /** How often a partial batch is sent. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Items held while the server is slow or away; past it new items are dropped and counted. Default 10,000. */
  maxQueueSize?: number;
  /** First retry delay (doubling, with jitter, up to maxRetryDelayMs). Default 500 ms. */
  initialRetryDelayMs?: number;
  /** Longest delay between retries. Default 30,000 ms. */
  maxRetryDelayMs?: number;
  /** A request without an answer for this long is abandoned and retried. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** How long shutdown() keeps trying before it drops what is left. Default 10,000 ms. */
  shutdownTimeoutMs?: number;
  /** Called for every telemetry problem; the SDK never throws into the agent's code. */
  onError?: (error: SpyglassError) => void;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export interface SpanOptions {
  /** The span type: one of `spanTypes`, or any name (then nothing is validated). */
  type: string;
  /** A label for this particular span; stored in the span's input as `name`. */
  name?: string;
  /** The span's parameters, checked against the type's `paramsSchema`. Copied when the span starts. */
  input?: unknown;
}

export interface Usage {
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number | string;
}

export interface RunOptions {
  purpose?: "live" | "smoke_test" | "eval";
}

export interface Outcome {
  success: boolean;
  outcome?: string;
}

interface RunState extends RunLink {
  enabled: boolean;
}

interface SpanState {
  id: string;
  run: RunState;
  /** The queued create, while it can still absorb the finish (never sent yet). */
  create: Extract<Work, { kind: "bulk" }> | null;
  dropped: boolean;
  usage: Usage | null;
  ended: boolean;
}

interface Context {
  run: RunState;
  span: SpanState | null;
}

/** A JSON object copy of `value`: objects as they serialize, anything else as `{ value }`. */
function toJsonObject(value: unknown): JsonObject {
  if (value === undefined) return {};
  // Scalars need no copy: the JSON round trip below is for objects the agent may still mutate.
  if (value === null || typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) return { value };
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "null");
  } catch (error) {
    copy = `[not serializable: ${error instanceof Error ? error.message : String(error)}]`;
  }
  return copy !== null && typeof copy === "object" && !Array.isArray(copy) ? (copy as JsonObject) : { value: copy };
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

const DISABLED_RUN: RunState = { id: "", dead: true, enabled: false };

/** A span inside a run, handed to the function `run.span()` wraps. */
export class Span {
  /** @internal */
  constructor(
    private readonly tracer: Spyglass,
    /** @internal */ readonly state: SpanState,
  ) {}

  get id(): string {
    return this.state.id;
  }

  /** Model, tokens and cost of this span (an LLM call); sent with its result. */
  setUsage(usage: Usage): void {
    this.state.usage = { ...this.state.usage, ...usage };
  }

  /** A child span of this one (the same as `run.span()` inside this span's function). */
  span<T>(options: SpanOptions, fn: (span: Span) => T | Promise<T>): Promise<T> {
    return this.tracer.spanIn(this.state.run, this.state, options, fn);
  }
}

/** A run of the agent (a trace), handed to the function `sg.run()` wraps. */
export class Run {
  /** @internal */
  constructor(
    private readonly tracer: Spyglass,
    /** @internal */ readonly state: RunState,
  ) {}

  /** The run's id (the agent instance id in the Prefactor API, the trace id in the AgentVista one). */
  get id(): string {
    return this.state.id;
  }

  /** A span of this run; its parent is the span whose function is running (across awaits), else the run. */
  span<T>(options: SpanOptions, fn: (span: Span) => T | Promise<T>): Promise<T> {
    return this.tracer.spanIn(this.state, undefined, options, fn);
  }

  /** Whether the run achieved its goal, and a label for what happened (e.g. "resolved", "escalated"). */
  setOutcome(outcome: Outcome): void {
    this.tracer.outcome(this.state, outcome);
  }
}

/**
 * The tracer: `await sg.run(async (run) => run.span({ type: "llm" }, async (span) => ...))`.
 * Everything is queued and sent in the background over `POST /api/v1/bulk`; no method throws
 * because of telemetry, and the wrapped functions' results and errors pass through unchanged.
 */
export class Spyglass {
  private readonly als = new AsyncLocalStorage<Context>();
  private readonly sender: Sender | null;
  private readonly partition = randomPartition();
  private readonly register: Omit<Schemas["RegisterInstance"], "id">;
  private readonly shutdownTimeoutMs: number;
  private readonly onError?: (error: SpyglassError) => void;
  private readonly beforeExit = () => void this.shutdown();
  private stopped: Promise<void> | null = null;

  constructor(options: SpyglassOptions) {
    this.onError = options.onError;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    const version = options.version ?? "dev";
    this.register = {
      agent_version: { name: options.agent, external_identifier: version },
      agent_schema_version: {
        external_identifier: version,
        span_type_schemas: (options.spanTypes ?? []).map((t) => withReservedKeys(t)),
      },
      ...(options.environmentId ? { environment_id: options.environmentId } : {}),
    };
    const env = typeof process === "undefined" ? {} : process.env;
    const baseUrl = options.baseUrl ?? env.SPYGLASS_BASE_URL;
    if (!baseUrl) {
      this.sender = null;
      this.report(new SpyglassError("config", "no baseUrl and no SPYGLASS_BASE_URL: runs are not recorded"));
      return;
    }
    this.sender = new Sender({
      client: createSpyglassClient({ baseUrl, token: options.token ?? env.SPYGLASS_TOKEN, fetch: options.fetch }),
      batchSize: Math.min(Math.max(1, options.batchSize ?? 100), 100),
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxQueueSize: options.maxQueueSize ?? 10_000,
      initialRetryDelayMs: options.initialRetryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      report: (error) => this.report(error),
    });
    // A script that forgets shutdown() still sends what it recorded before it exits.
    if (typeof process !== "undefined") process.once?.("beforeExit", this.beforeExit);
  }

  /** Runs `fn` as one run of the agent; resolves or rejects exactly as `fn` does. */
  async run<T>(fn: (run: Run) => T | Promise<T>, options: RunOptions = {}): Promise<T> {
    const state = this.startRun(options);
    const run = new Run(this, state);
    let value: T;
    try {
      value = await this.als.run({ run: state, span: null }, () => fn(run));
    } catch (error) {
      this.endRun(state, "failed");
      throw error;
    }
    this.endRun(state, "complete");
    return value;
  }

  /** A span of the run whose function is running; outside any run `fn` simply runs, unrecorded. */
  span<T>(options: SpanOptions, fn: (span: Span) => T | Promise<T>): Promise<T> {
    const context = this.als.getStore();
    return this.spanIn(context?.run ?? DISABLED_RUN, undefined, options, fn);
  }

  /** Resolves when everything recorded so far is acknowledged by the server or given up on (or after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void> {
    return this.sender?.flush(timeoutMs) ?? Promise.resolve();
  }

  /** Sends what is queued (for up to `shutdownTimeoutMs`), then stops; later runs and spans are not recorded. */
  shutdown(timeoutMs = this.shutdownTimeoutMs): Promise<void> {
    if (typeof process !== "undefined") process.off?.("beforeExit", this.beforeExit);
    this.stopped ??= this.sender?.close(timeoutMs) ?? Promise.resolve();
    return this.stopped;
  }

  /** Counters of the background sending (queued, sent, dropped, failed, retries). */
  stats(): SenderStats {
    return this.sender?.snapshot() ?? { queued: 0, sent: 0, dropped: 0, failed: 0, retries: 0 };
  }

  /** @internal */
  async spanIn<T>(run: RunState, parent: SpanState | undefined, options: SpanOptions, fn: (span: Span) => T | Promise<T>): Promise<T> {
    const state = this.startSpan(run, parent, options);
    let value: T;
    try {
      value = await this.als.run({ run, span: state }, () => fn(new Span(this, state)));
    } catch (error) {
      this.endSpan(state, "failed", { error: errorMessage(error) });
      throw error;
    }
    this.endSpan(state, "complete", value);
    return value;
  }

  /** @internal */
  outcome(run: RunState, outcome: Outcome): void {
    this.guard(() => {
      if (!run.enabled || run.dead) return;
      this.sender!.enqueue({ kind: "outcome", run, body: { success: outcome.success, outcome: outcome.outcome ?? null } });
    });
  }

  private report(error: SpyglassError): void {
    try {
      this.onError?.(error);
    } catch {
      // The hook is the agent's code; its failure must not become the SDK's.
    }
  }

  /** Telemetry bookkeeping never throws into the agent: a bug here is reported, not raised. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.report(new SpyglassError("internal", `telemetry failed: ${errorMessage(error)}`, { cause: error }));
    }
  }

  private bulk(run: RunState, item: BulkItem): Extract<Work, { kind: "bulk" }> | null {
    return this.sender!.enqueue({ kind: "bulk", run, item }) as Extract<Work, { kind: "bulk" }> | null;
  }

  private startRun(options: RunOptions): RunState {
    if (!this.sender) return DISABLED_RUN;
    const state: RunState = { id: pfid(this.partition), dead: false, enabled: true };
    this.guard(() => {
      const at = isoNow();
      const registered = this.bulk(state, {
        _type: "agent_instances/register",
        idempotency_key: `${state.id}.r`,
        ...this.register,
        id: state.id,
        ...(options.purpose ? { purpose: options.purpose } : {}),
      } satisfies BulkItem & Schemas["RegisterInstance"]);
      if (!registered) this.sender!.drop();
      if (!registered || !this.bulk(state, { _type: "agent_instances/start", idempotency_key: `${state.id}.s`, agent_instance_id: state.id, timestamp: at })) {
        state.dead = true;
      }
    });
    return state;
  }

  private endRun(run: RunState, status: "complete" | "failed"): void {
    this.guard(() => {
      if (!run.enabled) return;
      if (run.dead) return this.sender!.drop();
      this.bulk(run, {
        _type: "agent_instances/finish",
        idempotency_key: `${run.id}.f`,
        agent_instance_id: run.id,
        status,
        timestamp: isoNow(),
      } satisfies BulkItem & Schemas["FinishInstance"]);
    });
  }

  private startSpan(run: RunState, explicitParent: SpanState | undefined, options: SpanOptions): SpanState {
    const state: SpanState = { id: "", run, create: null, dropped: true, usage: null, ended: false };
    if (!run.enabled) return state;
    this.guard(() => {
      const context = this.als.getStore();
      const parent = explicitParent ?? (context?.run === run ? context.span : null);
      // Without its run or parent (dropped when the queue was full) a span could not be stored either.
      if (run.dead || parent?.dropped) return this.sender!.drop();
      state.id = pfid(this.partition);
      const payload = toJsonObject(options.input);
      if (options.name !== undefined) payload.name = options.name;
      const details: Schemas["AgentSpanCreateDetails"] = {
        agent_instance_id: run.id,
        schema_name: options.type,
        status: "active",
        payload: asJsonField(payload),
        id: state.id,
        parent_span_id: parent ? parent.id : null,
        started_at: isoNow(),
      };
      state.create = this.bulk(run, { _type: "agent_spans/create", idempotency_key: `${state.id}.c`, details });
      state.dropped = state.create === null;
    });
    return state;
  }

  private endSpan(state: SpanState, status: "complete" | "failed", value: unknown): void {
    if (state.dropped || state.ended) return;
    state.ended = true;
    this.guard(() => {
      const result = toJsonObject(value);
      const usage = state.usage;
      if (usage) {
        if (usage.model !== undefined) result.model = usage.model;
        result.usage = {
          input_tokens: usage.inputTokens ?? null,
          output_tokens: usage.outputTokens ?? null,
          cost_usd: usage.costUsd === undefined ? null : String(usage.costUsd),
        };
      }
      const at = isoNow();
      const create = state.create;
      state.create = null;
      if (create && !create.frozen) {
        // Never sent yet: the create itself carries the end, one item instead of two.
        const details = create.item.details as Schemas["AgentSpanCreateDetails"];
        details.status = status;
        details.result_payload = asJsonField(result);
        details.finished_at = at;
        return;
      }
      this.bulk(state.run, {
        _type: "agent_spans/finish",
        idempotency_key: `${state.id}.f`,
        agent_span_id: state.id,
        status,
        result_payload: asJsonField(result),
        timestamp: at,
      } satisfies BulkItem & Schemas["AgentSpanFinish"]);
    });
  }
}
