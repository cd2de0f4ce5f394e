import type { Request, Response } from "express";
import type { z } from "zod";
import { requireScope, type AuthContext } from "../../domain/accounts/service.js";
import type { Scope } from "../../domain/accounts/tokens.js";
import { requestFingerprint, type Outcome } from "../../domain/idempotency/service.js";
import type { Transaction } from "../../domain/shared/transaction.js";
import type { Services } from "../../services.js";
import { authOf } from "../../http/context.js";

export type Effect = (auth: AuthContext, tx: Transaction) => Promise<Outcome>;

/** A success outcome whose body has passed through its contract schema. */
export function ok<S extends z.ZodType>(schema: S, body: z.input<S>, status = 200): Outcome {
  return { status, body: schema.parse(body) };
}

/** As ok(), with what a replay under the request's idempotency key answers instead (see Outcome.replay). */
export function okReplayedAs<S extends z.ZodType>(schema: S, body: z.input<S>, replay: z.input<S>, status = 200): Outcome {
  return { ...ok(schema, body, status), replay: schema.parse(replay) };
}

/**
 * Runs a Prefactor write in one transaction, under the request's idempotency key when it has
 * one, and sends the (possibly replayed) response bytes. `scope` is the endpoint's: it is checked
 * before the key is looked up, so a replay never answers a token that could not make the request,
 * and such a token gets the same 403 whether or not the key was used.
 */
export async function sendWrite(
  services: Services,
  req: Request,
  res: Response,
  key: string | undefined,
  scope: Scope,
  effect: Effect,
  options: { singleWrite?: boolean } = {},
): Promise<void> {
  const auth = authOf(req);
  requireScope(auth, scope);
  // Hashing the body (a registration carries whole JSON Schemas) only recognises a retry under a key.
  const fingerprint = key === undefined ? "" : requestFingerprint(auth, req.method, req.baseUrl + req.path, req.body);
  const out = await services.idempotency.run(auth.accountId, key, fingerprint, (tx) => effect(auth, tx), options);
  if (out.replayed) res.setHeader("Idempotent-Replayed", "true");
  res.status(out.status).type("application/json").send(out.text);
}
