import type { Response, Router } from "express";
import {
  AgentSpanCreateDetailsSchema,
  AgentSpanFinishSchema,
  BulkOutputSchema,
  BulkRequestSchema,
  BulkResponseSchema,
  type BulkOutput,
  FinishInstanceSchema,
  IdParamSchema,
  RegisterInstanceSchema,
  StartInstanceSchema,
  TerminateInstanceSchema,
  z,
} from "@spyglass/contracts";
import type { AuthContext } from "../../domain/accounts/service.js";
import type { SpanIdempotency, SpanWrites, SpanWritten } from "../../domain/runs/spans.js";
import { requestFingerprint, type Outcome } from "../../domain/idempotency/service.js";
import { AppError } from "../../domain/shared/app-error.js";
import type { Transaction } from "../../domain/shared/transaction.js";
import type { Services } from "../../services.js";
import { authOf } from "../../http/context.js";
import { requireScope } from "../../domain/accounts/service.js";
import { isTransientDatabaseError } from "../../db/transient.js";
import { prefactorEnvelope, toAppError } from "../../http/errors.js";
import { parseInput } from "../../http/validation.js";
import { recordedSpan, runActions, writeSpanOnce } from "./runs.js";

type Item = z.output<typeof BulkRequestSchema>["items"][number];
/** An item's action: a span write (one statement, like the single endpoints) or a transaction. */
type Prepared =
  | { span: (writes: SpanWrites, auth: AuthContext, idem?: SpanIdempotency) => Promise<SpanWritten> }
  | { tx: (auth: AuthContext, tx: Transaction) => Promise<Outcome> };

const isSpanWrite = (item: Item) => item._type === "agent_spans/create" || item._type === "agent_spans/finish";

const targetId = (item: Record<string, unknown>, field: string, prefix: string) =>
  parseInput(IdParamSchema, item[field] ?? item.id, `${prefix}.${field}`);

/** Parses one item into its action; the item's own fields follow the single endpoint's body. */
function prepare(services: Services, actions: ReturnType<typeof runActions>, item: Item, prefix: string): Prepared {
  const { _type, idempotency_key: _key, ...rest } = item;
  switch (_type) {
    case "agent_spans/create": {
      const source = rest.details && typeof rest.details === "object" ? rest.details : rest;
      const { idempotency_key: _inner, ...details } = parseInput(AgentSpanCreateDetailsSchema, source, `${prefix}.details`);
      return { span: (writes, auth, idem) => writes.create(auth, details, idem) };
    }
    case "agent_spans/finish": {
      const id = targetId(rest, "agent_span_id", prefix);
      const { agent_span_id: _a, id: _i, ...body } = rest;
      const input = parseInput(AgentSpanFinishSchema, body, prefix);
      return { span: (writes, auth, idem) => writes.finish(auth, id, input, idem) };
    }
    case "agent_instances/register": {
      const input = parseInput(RegisterInstanceSchema, rest, prefix);
      return { tx: (auth, tx) => actions.register(auth, input, tx) };
    }
    default: {
      const id = targetId(rest, "agent_instance_id", prefix);
      const { agent_instance_id: _a, id: _i, ...body } = rest;
      if (_type === "agent_instances/start") {
        const input = parseInput(StartInstanceSchema, body, prefix);
        return { tx: (auth, tx) => actions.start(auth, id, input, tx) };
      }
      if (_type === "agent_instances/finish") {
        const input = parseInput(FinishInstanceSchema, body, prefix);
        return { tx: (auth, tx) => actions.finish(auth, id, input, tx) };
      }
      const input = parseInput(TerminateInstanceSchema, body, prefix);
      return { tx: (auth, tx) => actions.terminate(auth, id, input, tx) };
    }
  }
}

const fingerprintOf = (auth: AuthContext, item: Item) => requestFingerprint(auth, "BULK", item._type, item);

/**
 * Consecutive span writes of a bulk request, stored in one transaction with one commit: the
 * outputs by key, or null when that did not work out and nothing was stored (an item is invalid or
 * fails, a key was used before, another request holds one of the keys, or the database cannot).
 * The caller then runs the same items one by one, which answers exactly as if this had not been
 * tried. So a run that fails costs twice; one that succeeds costs one commit instead of one each.
 */
async function writeSpansTogether(
  services: Services,
  actions: ReturnType<typeof runActions>,
  auth: AuthContext,
  items: Item[],
  first: number,
): Promise<Map<string, unknown> | null> {
  if (!services.spans.canWriteTogether) return null;
  let writes: { key: string; fingerprint: string; act: Extract<Prepared, { span: unknown }>["span"] }[];
  try {
    writes = items.map((item, i) => {
      const action = prepare(services, actions, item, `items.${first + i}`);
      if (!("span" in action)) throw new Error("not a span write");
      return { key: item.idempotency_key, fingerprint: fingerprintOf(auth, item), act: action.span };
    });
  } catch {
    return null;
  }
  if (await services.idempotency.anyUsed(auth.accountId, writes.map((w) => w.key))) return null;
  try {
    return await services.spans.together(async (spans) => {
      const outputs = new Map<string, unknown>();
      for (const { key, fingerprint, act } of writes) {
        const record = recordedSpan(services, key, fingerprint);
        await act(spans, auth, record.idem);
        outputs.set(key, JSON.parse(record.stored().text));
      }
      return outputs;
    });
  } catch {
    return null;
  }
}

/**
 * The response. Its keys are the client's idempotency keys, any string, "__proto__" included: a
 * plain object would take that one as its prototype (and zod's record drops it), so the outputs
 * are sent as a null-prototype object, each through its contract schema.
 */
function sendOutputs(res: Response, outputs: Map<string, unknown>): void {
  const byKey: Record<string, BulkOutput> = Object.create(null);
  for (const [key, output] of outputs) byKey[key] = BulkOutputSchema.parse(output);
  const body: z.input<typeof BulkResponseSchema> = { status: "success", outputs: byKey };
  res.status(200).json(body);
}

/**
 * POST /bulk: items run in order, each under its own idempotency key (so a retried bulk replays
 * what already ran); processing stops at the first error, whose envelope is the last output.
 * Each item is its own transaction, except that consecutive span writes share one when all of
 * them succeed (see writeSpansTogether): the outputs, and what is stored, are the same.
 */
export function registerBulkRoutes(router: Router, services: Services): void {
  const actions = runActions(services);
  router.post("/bulk", async (req, res) => {
    const auth = authOf(req);
    // Every item is a write: a key without the scope is refused as a whole, as on the single
    // endpoints, rather than with a 200 whose first output says so.
    requireScope(auth, "write");
    const { items } = parseInput(BulkRequestSchema, req.body);
    const keys = new Set<string>();
    for (const [index, item] of items.entries()) {
      if (keys.has(item.idempotency_key)) {
        throw new AppError("invalid_value", `items.${index}.idempotency_key: duplicate key '${item.idempotency_key}' in this request`, {
          fields: [{ path: `items.${index}.idempotency_key`, message: "must be unique within the request" }],
        });
      }
      keys.add(item.idempotency_key);
    }
    const outputs = new Map<string, unknown>();
    // Items before `oneByOne` that are span writes already had their chance to go together.
    let oneByOne = 0;
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      if (index >= oneByOne && isSpanWrite(item)) {
        let end = index + 1;
        while (end < items.length && isSpanWrite(items[end]!)) end++;
        const together = end - index > 1 ? await writeSpansTogether(services, actions, auth, items.slice(index, end), index) : null;
        if (together) {
          for (const [key, output] of together) outputs.set(key, output);
          index = end - 1;
          continue;
        }
        oneByOne = end;
      }
      try {
        const action = prepare(services, actions, item, `items.${index}`);
        const fingerprint = fingerprintOf(auth, item);
        const out =
          "span" in action
            ? await writeSpanOnce(services, auth, item.idempotency_key, fingerprint, (a, idem) => action.span(services.spans, a, idem))
            : await services.idempotency.run(auth.accountId, item.idempotency_key, fingerprint, (tx) => action.tx(auth, tx));
        outputs.set(item.idempotency_key, JSON.parse(out.text));
      } catch (error) {
        // The whole request is refused (503 on a database outage, 429 over the monthly quota, both
        // with Retry-After): the items before this one are recorded under their keys, so the retry
        // replays them and carries on from here.
        if (isTransientDatabaseError(error)) throw error;
        if (error instanceof AppError && error.code === "rate_limited") throw error;
        outputs.set(item.idempotency_key, prefactorEnvelope(toAppError(error, req)));
        break;
      }
    }
    sendOutputs(res, outputs);
  });
}
