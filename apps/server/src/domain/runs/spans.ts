import { MAX_SPANS_PER_RUN, type PayloadValidation, type SpanTypeSchemaDetails } from "@spyglass/contracts";
import type { Prisma, SqlDriver, SqlTransaction } from "../../db/database.js";
import type { Page } from "../../model/page.js";
import { instancesRepository } from "../../repositories/instances.js";
import { schemaVersionsRepository } from "../../repositories/versions.js";
import { spansRepository, type SpanFilters, type SpanTimeField, type SpanWriteRecord, type TokenCheck } from "../../repositories/spans.js";
import type { Outcome } from "../idempotency/service.js";
import type { Db } from "../../repositories/types.js";
import { requireScope, type AuthContext } from "../accounts/service.js";
import { agentFilter, assertAgentAllowed, canSeeAgent } from "../catalog/service.js";
import { summarize, validateAgainst, type CompiledSpanType, type SpanTypeCache, type ValidationIssue } from "../catalog/span-types.js";
import { metrics } from "../../metrics.js";
import { AppError, invalidAction, notFound } from "../shared/app-error.js";
import { generatePfid } from "../shared/pfid.js";
import { clientInstant } from "../shared/time.js";
import type { EventQuota, EventReservation } from "../usage/quota.js";
import type { PriceService } from "../prices/service.js";
import type { SpanUsageColumns } from "../../model/rows.js";
import { usageOf } from "../prices/usage.js";
import { tracesRepository } from "../../repositories/traces.js";
import type { InstancesService } from "./instances.js";
import { terminatedError } from "./instances.js";
import { TERMINAL_SPAN_STATUSES, type SpanStatus } from "../../model/status.js";

export type Span = NonNullable<Awaited<ReturnType<typeof spansRepository.findById>>>;
type JsonObject = Record<string, unknown>;

export interface CreateSpanInput {
  agent_instance_id: string;
  schema_name: string;
  status: SpanStatus;
  payload?: JsonObject | null;
  result_payload?: JsonObject | null;
  id?: string;
  parent_span_id?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
}

/** Records the response under an idempotency key in the same statement as the span write. */
export interface SpanIdempotency {
  key: string;
  requestHash: string;
  expiresAt: Date;
  present: (span: Span, title: string) => Outcome;
}

function recordOf(idem: SpanIdempotency | undefined, title: string): SpanWriteRecord | undefined {
  if (!idem) return undefined;
  let status = 200;
  return {
    key: idem.key,
    requestHash: idem.requestHash,
    expiresAt: idem.expiresAt,
    get statusCode() {
      return status;
    },
    body: (row) => {
      const outcome = idem.present(row, title);
      status = outcome.status;
      return JSON.stringify(outcome.body);
    },
  };
}

export interface FinishSpanInput {
  status?: "complete" | "failed" | "cancelled";
  result_payload?: JsonObject | null;
  timestamp?: string;
}

export type SpanWritten = { span: Span; title: string };

/** The span writes, as SpansService offers them and as they run inside SpansService.together. */
export interface SpanWrites {
  create(auth: AuthContext, input: CreateSpanInput, idem?: SpanIdempotency): Promise<SpanWritten>;
  finish(auth: AuthContext, id: string, input: FinishSpanInput, idem?: SpanIdempotency): Promise<SpanWritten>;
}

/** A recalled token is checked by the write statement itself (see AccountsService.recall). */
const tokenCheck = (auth: AuthContext): TokenCheck | null => (auth.check ? { tokenId: auth.tokenId, scope: "write" } : null);

/** When a write statement with a token check wrote nothing, the token may be why: 401 or 403 first. */
async function recheck(auth: AuthContext): Promise<void> {
  if (auth.check) requireScope(await auth.check(), "write");
}

const isTerminal = (status: string) => (TERMINAL_SPAN_STATUSES as readonly string[]).includes(status);

/** Why a span in state `from` cannot be finished as `to`; null when it can. */
function transitionError(from: string, to: NonNullable<FinishSpanInput["status"]>): AppError | null {
  if (isTerminal(from)) return invalidAction(`the span is already ${from}`);
  if (to === "cancelled" && from !== "pending") return invalidAction("only a pending span can be cancelled");
  if (to !== "cancelled" && from !== "active") return invalidAction(`only an active span can finish as ${to}; this one is ${from}`);
  return null;
}

/**
 * invalid when a checked payload failed; else unchecked when something could not be checked (an
 * unknown span type, or a JSON Schema that does not compile); else valid.
 */
function verdict(issues: ValidationIssue[], known: boolean): PayloadValidation {
  const status = issues.some((i) => i.target !== "schema") ? "invalid" : !known || issues.length > 0 ? "unchecked" : "valid";
  return { status, errors: issues };
}

/** Agent spans: the span state machine, payload validation against the run's schema version, summaries. */
export class SpansService {
  constructor(
    private readonly prisma: Prisma,
    private readonly sql: SqlDriver,
    private readonly instances: InstancesService,
    private readonly spanTypes: SpanTypeCache,
    private readonly strict: boolean,
    private readonly quota: EventQuota,
    private readonly prices: PriceService,
    private readonly transaction: SqlTransaction | null = null,
    /** See activityMarkEveryMs: span writes are activity that keeps their run from being swept. */
    private readonly activityEveryMs = 60_000,
  ) {}

  /** Model and tokens the payloads name, priced at `startedAt`; null when they name none. */
  private async usage(auth: AuthContext, startedAt: Date, ...payloads: (JsonObject | null)[]): Promise<SpanUsageColumns | null> {
    const usage = usageOf(...payloads);
    return usage ? this.prices.priceUsage(auth.accountId, usage, startedAt) : null;
  }

  /** A run's totals are the sums over its llm spans: refreshed when one brought tokens or a cost. */
  private async afterUsage(auth: AuthContext, runId: string, schemaName: string, usage: SpanUsageColumns | null, sql: SqlDriver): Promise<void> {
    if (usage && schemaName === "llm" && (usage.totalTokens !== null || usage.costUsd !== null)) {
      await tracesRepository.refreshTotals(sql, auth.accountId, runId);
    }
  }

  /** Whether together() is available: on PostgreSQL, not on the embedded database. */
  get canWriteTogether(): boolean {
    return this.transaction !== null;
  }

  /**
   * Runs span writes in one transaction with one commit: all of them are stored, or none (when
   * `work` throws). For /bulk, where a commit per item made the commit (a WAL flush) most of the
   * cost of every item. The spans a rolled-back attempt remembered as open are forgotten again.
   * Only the writes themselves see the transaction's uncommitted rows: the error details of a
   * failed write (whyNotCreated) are read outside it, so callers retry a failed attempt write by
   * write rather than answer with its error.
   */
  async together<T>(work: (writes: SpanWrites) => Promise<T>): Promise<T> {
    if (!this.transaction) throw new Error("span writes cannot share a transaction on this database");
    const created: { accountId: string; id: string; events: EventReservation }[] = [];
    try {
      return await this.transaction((sql) =>
        work({
          create: async (auth, input, idem) => {
            let events: EventReservation | undefined;
            const written = await this.create(auth, input, idem, sql, (r) => (events = r));
            created.push({ accountId: auth.accountId, id: written.span.id, events: events! });
            return written;
          },
          finish: (auth, id, input, idem) => this.finish(auth, id, input, idem, sql),
        }),
      );
    } catch (error) {
      for (const { accountId, id, events } of created) {
        this.open.take(accountId, id);
        await events.settle(0);
      }
      throw error;
    }
  }

  /** The compiled span types of a schema version (cached; versions are immutable). */
  typesOf(accountId: string, schemaVersionId: string | null, db: Db = this.prisma): Promise<Map<string, CompiledSpanType>> {
    if (!schemaVersionId) return Promise.resolve(new Map());
    return this.spanTypes.get(schemaVersionId, async () => {
      const version = await schemaVersionsRepository.findById(db, accountId, schemaVersionId);
      return (version?.spanTypeSchemas ?? null) as Record<string, SpanTypeSchemaDetails> | null;
    });
  }

  /** Validates, and in strict mode rejects with per-field errors. */
  private check(type: CompiledSpanType | undefined, schemaName: string, target: "payload" | "result_payload", value: JsonObject): ValidationIssue[] {
    if (!type) {
      const issue: ValidationIssue = { path: "", message: `unknown span type '${schemaName}' for this agent's schema version`, target: "schema" };
      if (this.strict) {
        throw new AppError("invalid_value", `details.schema_name: ${issue.message}`, {
          fields: [{ path: "details.schema_name", message: issue.message }],
        });
      }
      return [issue];
    }
    // Strict mode cannot vouch for a payload it cannot check: a span type with a JSON Schema that
    // does not compile is refused like an unknown one (both schemas, so no span is stored that
    // could not be finished).
    const broken = !type.params ? "params_schema" : !type.result ? "result_schema" : null;
    if (this.strict && broken) {
      const message = `the span type '${schemaName}' has an invalid ${broken}, so its payloads cannot be checked`;
      throw new AppError("invalid_value", `details.schema_name: ${message}`, { fields: [{ path: "details.schema_name", message }] });
    }
    const validator = target === "payload" ? type.params : type.result;
    const issues = validateAgainst(validator, value, target);
    const real = issues.filter((i) => i.target !== "schema");
    const prefix = target === "payload" ? "details.payload" : "details.result_payload";
    // A schema that compiled but could not be applied within the work budget.
    const unjudged = validator && issues.find((i) => i.target === "schema");
    if (this.strict && unjudged) {
      throw new AppError("invalid_value", `${prefix}: ${unjudged.message}`, { fields: [{ path: prefix, message: unjudged.message }] });
    }
    if (this.strict && real.length) {
      const fields = real.map((i) => ({ path: [prefix, i.path].filter(Boolean).join("."), message: i.message }));
      throw new AppError("invalid_value", `${target} does not match the span type's schema: ${fields.map((f) => `${f.path} ${f.message}`).join("; ")}`, { fields });
    }
    return issues;
  }

  async get(auth: AuthContext, id: string, db: Db = this.prisma): Promise<Span> {
    const span = await spansRepository.findById(db, auth.accountId, id);
    if (!span || !canSeeAgent(auth, span.agentId)) throw notFound("agent span");
    return span;
  }

  list(auth: AuthContext, filters: SpanFilters, page: Page, orderBy: Partial<Record<SpanTimeField, "asc" | "desc">>) {
    if (!filters.agentInstanceId && !filters.agentId) {
      throw new AppError("required_value", "query.agent_instance_id or query.agent_id is required", {
        fields: [{ path: "query.agent_instance_id", message: "is required (or agent_id)", code: "required_value" }],
      });
    }
    return spansRepository.list(this.sql, auth.accountId, { ...filters, agentId: agentFilter(auth, filters.agentId) }, page, orderBy);
  }

  /** Span type titles for serializing spans of many runs: run id → (schema name → title). */
  async titlesFor(auth: AuthContext, spans: Span[]): Promise<(span: Span) => string> {
    const runIds = [...new Set(spans.map((s) => s.agentInstanceId))];
    const versions = await spansRepository.schemaVersionsOf(this.prisma, auth.accountId, runIds);
    const typesByRun = new Map<string, Map<string, CompiledSpanType>>();
    await Promise.all(runIds.map(async (id) => typesByRun.set(id, await this.typesOf(auth.accountId, versions.get(id) ?? null))));
    return (span) => typesByRun.get(span.agentInstanceId)?.get(span.schemaName)?.title ?? span.name ?? span.schemaName;
  }

  async titleOf(auth: AuthContext, span: Span, db: Db = this.prisma): Promise<string> {
    const instance = await instancesRepository.findById(db, auth.accountId, span.agentInstanceId);
    const types = await this.typesOf(auth.accountId, instance?.agentSchemaVersionId ?? null, db);
    return types.get(span.schemaName)?.title ?? span.name ?? span.schemaName;
  }

  private readonly open = new OpenSpans();

  /** A run's immutable facts (agent, schema version), cached: span writes need them before anything else. */
  private readonly runFacts = new Map<string, { agentId: string; agentSchemaVersionId: string | null }>();

  private async factsOf(auth: AuthContext, instanceId: string, db: Db) {
    const key = `${auth.accountId}:${instanceId}`;
    const cached = this.runFacts.get(key);
    if (cached) return cached;
    const instance = await this.instances.get(auth, instanceId, db);
    const facts = { agentId: instance.agentId, agentSchemaVersionId: instance.agentSchemaVersionId };
    this.runFacts.set(key, facts);
    if (this.runFacts.size > 20_000) this.runFacts.delete(this.runFacts.keys().next().value!);
    return facts;
  }

  /** Why a guarded span insert did not happen, as the error the client should see. */
  private async whyNotCreated(auth: AuthContext, input: CreateSpanInput, id: string, db: Db): Promise<AppError> {
    const instance = await this.instances.get(auth, input.agent_instance_id, db);
    if (instance.status === "terminated") return terminatedError(instance);
    if (isTerminal(instance.status)) return invalidAction(`the agent instance is ${instance.status}; no new spans can be added`);
    if (await spansRepository.runIsFull(db, auth.accountId, instance.id)) {
      return invalidAction(`the agent instance holds ${MAX_SPANS_PER_RUN} spans, the most a run may hold; no new spans can be added`);
    }
    if (input.parent_span_id) {
      const parent = await spansRepository.findParent(db, auth.accountId, input.parent_span_id);
      if (!parent || parent.agentInstanceId !== instance.id) {
        return new AppError("invalid_value", "details.parent_span_id: must name a span of the same agent instance", {
          fields: [{ path: "details.parent_span_id", message: "must name a span of the same agent instance" }],
        });
      }
    }
    if (await spansRepository.exists(db, auth.accountId, id)) return invalidAction("an agent span with this id already exists");
    return new AppError("unexpected", "the span could not be recorded");
  }

  /**
   * Span writes run on the plain driver: one statement each, the hot path of the Prefactor dialect.
   * A created span is an event of the monthly quota: reserved before the write, given back if
   * nothing was written. `stored`: inside together(), where the span is only stored once the
   * transaction commits, the reservation is handed over instead (together() gives it back when
   * the transaction fails).
   */
  create(
    auth: AuthContext,
    input: CreateSpanInput,
    idem?: SpanIdempotency,
    sql: SqlDriver = this.sql,
    stored?: (events: EventReservation) => void,
  ): Promise<SpanWritten> {
    return metrics.counted("prefactor", "span", () => this.createSpan(auth, input, idem, sql, stored));
  }

  private async createSpan(
    auth: AuthContext,
    input: CreateSpanInput,
    idem: SpanIdempotency | undefined,
    sql: SqlDriver,
    stored: ((events: EventReservation) => void) | undefined,
  ): Promise<SpanWritten> {
    const db = this.prisma;
    requireScope(auth, "write");
    const run = await this.factsOf(auth, input.agent_instance_id, db);
    assertAgentAllowed(auth, run.agentId, "agent instance");

    const terminal = isTerminal(input.status);
    if (input.result_payload && !terminal) {
      throw new AppError("invalid_value", "details.result_payload: only allowed with a terminal status (complete, failed, cancelled)", {
        fields: [{ path: "details.result_payload", message: "only allowed with a terminal status" }],
      });
    }
    const now = new Date();
    const finishedAt = terminal ? (input.finished_at ? clientInstant(input.finished_at, "details.finished_at", now) : now) : null;
    // The times a client gives are kept whatever the status; a span created cancelled without a
    // start never ran, so it starts when it ends (as finishing a pending span as cancelled does).
    let startedAt: Date | null;
    if (input.status === "pending") startedAt = null;
    else startedAt = input.started_at ? clientInstant(input.started_at, "details.started_at", now) : (finishedAt ?? now);
    if (startedAt && finishedAt && finishedAt < startedAt) {
      throw new AppError("invalid_value", "details.finished_at: must not be before started_at", {
        fields: [{ path: "details.finished_at", message: "must not be before started_at" }],
      });
    }

    const payload = input.payload ?? {};
    const result = terminal ? (input.result_payload ?? null) : null;
    const types = await this.typesOf(auth.accountId, run.agentSchemaVersionId, db);
    const type = types.get(input.schema_name);
    const issues = this.check(type, input.schema_name, "payload", payload);
    if (type && result) issues.push(...this.check(type, input.schema_name, "result_payload", result));

    const id = input.id ?? generatePfid(auth.partition);
    const title = type?.title ?? input.schema_name;
    const usage = await this.usage(auth, startedAt ?? now, payload, result);
    const events = await this.quota.reserve(auth.accountId, 1, now);
    const span = await spansRepository.createGuarded(sql, {
      accountId: auth.accountId,
      id,
      agentInstanceId: input.agent_instance_id,
      agentId: run.agentId,
      parentSpanId: input.parent_span_id ?? null,
      schemaName: input.schema_name,
      status: input.status,
      payload,
      resultPayload: result,
      summary: summarize(type, payload, result),
      payloadValidation: verdict(issues, Boolean(type)),
      startedAt,
      finishedAt,
      durationMs: startedAt && finishedAt ? finishedAt.getTime() - startedAt.getTime() : null,
      usage,
      at: now,
      activityEveryMs: this.activityEveryMs,
    }, recordOf(idem, title), tokenCheck(auth)).catch(async (error: unknown) => {
      await events.settle(0);
      throw error;
    });
    if (!span) {
      await events.settle(0);
      await recheck(auth);
      throw await this.whyNotCreated(auth, input, id, db);
    }
    stored?.(events);
    await this.afterUsage(auth, input.agent_instance_id, input.schema_name, usage, sql);
    if (!terminal) this.open.remember(auth.accountId, span, run.agentSchemaVersionId);
    return { span, title };
  }

  async finish(auth: AuthContext, id: string, input: FinishSpanInput, idem?: SpanIdempotency, sql: SqlDriver = this.sql): Promise<SpanWritten> {
    requireScope(auth, "write");
    // A span this process created is finished without reading it first: the update's guards
    // (status, run not terminated, token) decide, and only when one fails is the span read to say why.
    const known = this.open.take(auth.accountId, id);
    if (known && !transitionError(known.span.status, input.status ?? "complete")) {
      const done = await this.finishKnown(auth, known.span, known.schemaVersionId, input, idem, sql);
      if (done) return done;
    }
    const found = await spansRepository.findWithRun(sql, auth.accountId, id);
    if (!found) throw notFound("agent span");
    const { span, run } = found;
    assertAgentAllowed(auth, span.agentId, "agent span");
    if (run.status === "terminated") throw terminatedError(run);
    const finished = await this.finishKnown(auth, span, run.agentSchemaVersionId, input, idem, sql);
    if (!finished) {
      await recheck(auth);
      throw invalidAction("the span was finished by another request");
    }
    return finished;
  }

  /**
   * Checks the transition and writes it; null when the update's guards failed (the span is no
   * longer in the state `span` says, its run was terminated, or the recalled token is no longer
   * usable). Errors the request itself makes (a wrong transition, a timestamp before the start,
   * strict validation) throw.
   */
  private async finishKnown(
    auth: AuthContext,
    span: Span,
    schemaVersionId: string | null,
    input: FinishSpanInput,
    idem: SpanIdempotency | undefined,
    sql: SqlDriver,
  ): Promise<SpanWritten | null> {
    const db = this.prisma;
    const id = span.id;
    assertAgentAllowed(auth, span.agentId, "agent span");

    const status = input.status ?? "complete";
    const wrong = transitionError(span.status, status);
    if (wrong) throw wrong;

    const at = input.timestamp ? clientInstant(input.timestamp, "timestamp") : new Date();
    const startedAt = status === "cancelled" ? at : span.startedAt;
    if (startedAt && at < startedAt) {
      throw new AppError("invalid_value", "timestamp: must not be before the span's started_at", { fields: [{ path: "timestamp", message: "must not be before started_at" }] });
    }
    // No result reported is null, however the span ends (as when it is created finished).
    const result = input.result_payload ?? null;
    const payload = (span.payload ?? {}) as JsonObject;
    const types = await this.typesOf(auth.accountId, schemaVersionId, db);
    const type = types.get(span.schemaName);
    const previous = (span.payloadValidation as PayloadValidation | null)?.errors ?? [];
    const issues = type && result ? [...previous, ...this.check(type, span.schemaName, "result_payload", result)] : previous;

    const title = type?.title ?? span.name ?? span.schemaName;
    const usage = await this.usage(auth, startedAt ?? at, payload, result);
    const finished = await spansRepository.finish(
      sql,
      auth.accountId,
      id,
      span.status,
      {
        status,
        startedAt,
        finishedAt: at,
        durationMs: startedAt ? at.getTime() - startedAt.getTime() : null,
        resultPayload: result,
        summary: summarize(type, payload, result),
        payloadValidation: verdict(issues, Boolean(type)),
        at: new Date(),
        usage,
        activityEveryMs: this.activityEveryMs,
      },
      span,
      recordOf(idem, title),
      tokenCheck(auth),
    );
    if (!finished) return null;
    await this.afterUsage(auth, span.agentInstanceId, span.schemaName, usage, sql);
    return { span: finished, title };
  }
}

/**
 * Open spans this process created, as written, so that finishing one needs no read first. Bounded
 * (entries and payload bytes, oldest dropped first); a span not found here (finished by another
 * replica, dropped, or created before a restart) is simply read.
 */
class OpenSpans {
  private readonly spans = new Map<string, { span: Span; schemaVersionId: string | null; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 5_000,
    private readonly maxBytes = 16 * 1024 * 1024,
    private readonly maxSpanBytes = 64 * 1024,
  ) {}

  remember(accountId: string, span: Span, schemaVersionId: string | null): void {
    const bytes = JSON.stringify(span.payload ?? null).length + 512;
    if (bytes > this.maxSpanBytes) return;
    const key = `${accountId}:${span.id}`;
    this.take(accountId, span.id);
    this.spans.set(key, { span, schemaVersionId, bytes });
    this.bytes += bytes;
    while (this.spans.size > this.maxEntries || this.bytes > this.maxBytes) {
      const [oldest, entry] = this.spans.entries().next().value!;
      this.spans.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  /** The span as created, forgotten here: a finish either succeeds or falls back to reading. */
  take(accountId: string, id: string): { span: Span; schemaVersionId: string | null } | undefined {
    const key = `${accountId}:${id}`;
    const entry = this.spans.get(key);
    if (!entry) return undefined;
    this.spans.delete(key);
    this.bytes -= entry.bytes;
    return entry;
  }
}
