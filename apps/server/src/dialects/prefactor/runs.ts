import type { Request, RequestHandler, Response, Router } from "express";
import {
  AgentInstanceListSchema,
  AgentInstanceResponseSchema,
  AgentSpanCreateSchema,
  AgentSpanFinishSchema,
  AgentSpanListSchema,
  AgentSpanResponseSchema,
  FinishInstanceSchema,
  IdParamSchema,
  InstanceListQuerySchema,
  PfidGenerateResponseSchema,
  PfidGenerateSchema,
  RegisterInstanceSchema,
  SpanListQuerySchema,
  StartInstanceSchema,
  TerminateInstanceSchema,
  z,
} from "@spyglass/contracts";
import type { AuthContext } from "../../domain/accounts/service.js";
import { requireScope } from "../../domain/accounts/service.js";
import type { Instance } from "../../domain/runs/instances.js";
import type { Span, SpanIdempotency } from "../../domain/runs/spans.js";
import { isUniqueViolation, requestFingerprint } from "../../domain/idempotency/service.js";
import { AppError } from "../../domain/shared/app-error.js";
import { generatePfid } from "../../domain/shared/pfid.js";
import { clientInstant, instantOf } from "../../domain/shared/time.js";
import type { Transaction } from "../../domain/shared/transaction.js";
import type { Services } from "../../services.js";
import { authOf } from "../../http/context.js";
import { paginationOf, parseList } from "../../http/list.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import { toInstance, toSpan } from "./serialize.js";
import { ok, sendWrite } from "./write.js";

/** A filter's instant (no zone = UTC, as in every timestamp of both dialects). */
const date = (value: string | undefined, path: string) => (value ? instantOf(value, path) : undefined);
/** An instant the client reports: within the accepted window, else 400. */
const reported = (value: string | undefined) => (value ? clientInstant(value, "timestamp") : undefined);

/** The time fields runs and spans sort by, and their columns. */
const TIME_SORT = ["inserted_at", "started_at", "finished_at"] as const;
const TIME_COLUMN = { inserted_at: "insertedAt", started_at: "startedAt", finished_at: "finishedAt" } as const;

/** `fresh`: an instance registered by this request, which cannot have spans yet. */
async function instanceBody(services: Services, auth: AuthContext, instance: Instance, db?: Transaction, fresh = false) {
  const counts = fresh ? [] : await services.instances.spanCounts(auth, [instance.id], db);
  return { status: "success" as const, details: toInstance(instance, counts) };
}

/**
 * The instance write actions, shared by their routes and by /bulk: each returns the outcome of
 * running it in the given transaction (span writes go through writeSpanOnce).
 */
export function runActions(services: Services) {
  return {
    register: async (auth: AuthContext, input: z.output<typeof RegisterInstanceSchema>, tx: Transaction) =>
      ok(AgentInstanceResponseSchema, await instanceBody(services, auth, await services.instances.register(auth, input, tx), tx, true)),
    start: async (auth: AuthContext, id: string, input: z.output<typeof StartInstanceSchema>, tx: Transaction) =>
      ok(AgentInstanceResponseSchema, await instanceBody(services, auth, await services.instances.start(auth, id, reported(input.timestamp), tx), tx)),
    finish: async (auth: AuthContext, id: string, input: z.output<typeof FinishInstanceSchema>, tx: Transaction) =>
      ok(
        AgentInstanceResponseSchema,
        await instanceBody(services, auth, await services.instances.finish(auth, id, input.status ?? "complete", reported(input.timestamp), tx), tx),
      ),
    terminate: async (auth: AuthContext, id: string, input: z.output<typeof TerminateInstanceSchema>, tx: Transaction) =>
      ok(AgentInstanceResponseSchema, await instanceBody(services, auth, await services.instances.terminate(auth, id, input.reason, tx), tx)),
  };
}

const presentSpan = (span: Span, title: string) => ok(AgentSpanResponseSchema, { status: "success", details: toSpan(span, title, true) });

/**
 * A span write (create or finish) under an optional idempotency key, for the single endpoints and
 * /bulk. Span writes are the hot path: each is one statement, and under a key the record is
 * written by that same statement (no interactive transaction). A retry finds the record first; a
 * concurrent duplicate fails (on the record's key, or as a conflicting span write) and then finds it.
 */
export async function writeSpanOnce(
  services: Services,
  auth: AuthContext,
  key: string | undefined,
  fingerprint: string,
  act: (auth: AuthContext, idem?: SpanIdempotency) => Promise<{ span: Span; title: string }>,
): Promise<{ status: number; text: string; replayed: boolean }> {
  if (key === undefined) {
    const { span, title } = await act(auth);
    const outcome = presentSpan(span, title);
    return { status: outcome.status, text: JSON.stringify(outcome.body), replayed: false };
  }
  // Authorization comes before the key's record: the scope here, and a recalled token's state
  // (read in parallel with the record, but decided first: an unusable token gets its 401 whatever
  // the record would have said, a replay or a 409).
  requireScope(auth, "write");
  const lookup = services.idempotency.replay(auth.accountId, key, fingerprint);
  lookup.catch(() => {});
  await auth.check?.();
  const prior = await lookup;
  if (prior) return { ...prior, replayed: true };
  const record = recordedSpan(services, key, fingerprint);
  try {
    await act(auth, record.idem);
  } catch (error) {
    // A concurrent duplicate that committed first makes this write fail: on the record's key, or,
    // for a span with a client-chosen id, as "already exists". Either way its response is replayed.
    // (Not after any other error: a token found unusable meanwhile gets its 401, not a replay.)
    if (!isUniqueViolation(error) && !(error instanceof AppError && error.code === "invalid_action")) throw error;
    const raced = await services.idempotency.replay(auth.accountId, key, fingerprint);
    if (!raced) throw error;
    return { ...raced, replayed: true };
  }
  return { ...record.stored(), replayed: false };
}

/** A span write's idempotency record under `key`, and the response it recorded once written. */
export function recordedSpan(services: Services, key: string, fingerprint: string): { idem: SpanIdempotency; stored: () => { status: number; text: string } } {
  let stored: { status: number; text: string } | undefined;
  const idem: SpanIdempotency = {
    key,
    requestHash: fingerprint,
    expiresAt: services.idempotency.expiry(),
    present: (span, title) => {
      const outcome = presentSpan(span, title);
      stored = { status: outcome.status, text: JSON.stringify(outcome.body) };
      return outcome;
    },
  };
  return {
    idem,
    stored: () => {
      if (!stored) throw new Error("the span write recorded no response");
      return stored;
    },
  };
}

const idOf = (params: Record<string, string | string[]>) => parseInput(IdParamSchema, params.id, "id");

/**
 * The per-span writes, the Prefactor hot path (two requests per span). They are registered with
 * their own `ingress` handlers, ahead of the router's: theirs recall the caller's token (see
 * AccountsService.recall), which every statement of a span write checks.
 */
export function registerSpanWriteRoutes(router: Router, services: Services, ingress: RequestHandler[]): void {
  async function sendSpanWrite(
    req: Request,
    res: Response,
    key: string | undefined,
    act: (auth: AuthContext, idem?: SpanIdempotency) => Promise<{ span: Span; title: string }>,
  ): Promise<void> {
    // Hashing the body is only needed to recognise a retry under a key.
    const auth = authOf(req);
    const fingerprint = key === undefined ? "" : requestFingerprint(auth, req.method, req.baseUrl + req.path, req.body);
    const out = await writeSpanOnce(services, auth, key, fingerprint, act);
    if (out.replayed) res.setHeader("Idempotent-Replayed", "true");
    res.status(out.status).type("application/json").send(out.text);
  }

  // Whatever fails, a recalled token that is no longer usable answers 401 first, as it would have
  // at authentication: no other error (nor what it would reveal) reaches such a caller.
  const tokenFirst = (handler: RequestHandler): RequestHandler => async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (error) {
      await req.auth?.check?.();
      throw error;
    }
  };

  router.post("/agent_spans", ...ingress, tokenFirst(async (req, res) => {
    const body = parseInput(AgentSpanCreateSchema, req.body);
    const { idempotency_key: innerKey, ...details } = body.details;
    await sendSpanWrite(req, res, body.idempotency_key ?? innerKey, (auth, idem) => services.spans.create(auth, details, idem));
  }));
  router.post("/agent_spans/:id/finish", ...ingress, tokenFirst(async (req, res) => {
    const body = parseInput(AgentSpanFinishSchema, req.body ?? {});
    const id = idOf(req.params);
    await sendSpanWrite(req, res, body.idempotency_key, (auth, idem) => services.spans.finish(auth, id, body, idem));
  }));
}

export function registerRunRoutes(router: Router, services: Services): void {
  const actions = runActions(services);

  router.post("/pfid/generate", async (req, res) => {
    const body = parseInput(PfidGenerateSchema, req.body ?? {});
    await sendWrite(services, req, res, body.idempotency_key, "write", async (auth) => {
      const pfids = Array.from({ length: body.count ?? 1 }, () => generatePfid(auth.partition));
      return ok(PfidGenerateResponseSchema, { status: "success", details: { pfids } });
    });
  });

  router.post("/agent_instance/register", async (req, res) => {
    const body = parseInput(RegisterInstanceSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "write", (auth, tx) => actions.register(auth, body, tx));
  });
  router.post("/agent_instance/:id/start", async (req, res) => {
    const body = parseInput(StartInstanceSchema, req.body ?? {});
    await sendWrite(services, req, res, body.idempotency_key, "write", (auth, tx) => actions.start(auth, idOf(req.params), body, tx), { singleWrite: true });
  });
  router.post("/agent_instance/:id/finish", async (req, res) => {
    const body = parseInput(FinishInstanceSchema, req.body ?? {});
    await sendWrite(services, req, res, body.idempotency_key, "write", (auth, tx) => actions.finish(auth, idOf(req.params), body, tx), { singleWrite: true });
  });
  router.post("/agent_instance/:id/terminate", async (req, res) => {
    const body = parseInput(TerminateInstanceSchema, req.body);
    await sendWrite(services, req, res, body.idempotency_key, "write", (auth, tx) => actions.terminate(auth, idOf(req.params), body, tx));
  });
  router.get("/agent_instance", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const { page, sort, sorting, filters } = parseList(req, TIME_SORT, { field: "inserted_at", direction: "desc" }, InstanceListQuerySchema);
    const column = TIME_COLUMN[sort.field];
    const { items, count } = await services.instances.list(
      auth,
      {
        agentId: filters.agent_id,
        status: filters.status,
        environmentId: filters.environment_id,
        startedAfter: date(filters.started_after, "query.started_after"),
        startedBefore: date(filters.started_before, "query.started_before"),
      },
      page,
      { [column]: sort.direction },
    );
    const counts = await services.instances.spanCounts(auth, items.map((i) => i.id));
    respond(res, 200, AgentInstanceListSchema, {
      status: "success",
      summaries: items.map((i) => toInstance(i, counts)),
      pagination: paginationOf(page, count, items.length),
      sorting,
    });
  });
  router.get("/agent_instance/:id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const instance = await services.instances.get(auth, idOf(req.params));
    respond(res, 200, AgentInstanceResponseSchema, await instanceBody(services, auth, instance));
  });

  router.get("/agent_spans", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const { page, sort, sorting, filters } = parseList(req, TIME_SORT, { field: "started_at", direction: "asc" }, SpanListQuerySchema);
    const column = TIME_COLUMN[sort.field];
    const { items, count } = await services.spans.list(
      auth,
      {
        agentInstanceId: filters.agent_instance_id,
        agentId: filters.agent_id,
        startTime: date(filters.start_time, "query.start_time"),
        endTime: date(filters.end_time, "query.end_time"),
        schemaName: filters.schema_name,
        status: filters.status,
      },
      page,
      { [column]: sort.direction },
    );
    const titleOf = await services.spans.titlesFor(auth, items);
    const withSummaries = filters.include_summaries === "true";
    respond(res, 200, AgentSpanListSchema, {
      status: "success",
      summaries: items.map((s) => toSpan(s, titleOf(s), withSummaries)),
      pagination: paginationOf(page, count, items.length),
      sorting,
    });
  });
  router.get("/agent_spans/:id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const span = await services.spans.get(auth, idOf(req.params));
    respond(res, 200, AgentSpanResponseSchema, { status: "success", details: toSpan(span, await services.spans.titleOf(auth, span), true) });
  });
}
