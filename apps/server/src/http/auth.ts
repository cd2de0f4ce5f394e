import type { RequestHandler } from "express";
import type { AccountsService } from "../domain/accounts/service.js";
import { bearerToken } from "./context.js";

/**
 * Resolves the bearer token to req.auth; failures go to the dialect's error mapper. With `recall`
 * (the per-span write routes only, whose statement checks the token's state itself), a secret this
 * process authenticated before is taken from memory instead of read again: one round trip fewer.
 */
export function authenticate(accounts: AccountsService, options: { recall?: boolean } = {}): RequestHandler {
  return async (req, _res, next) => {
    const secret = bearerToken(req);
    req.auth = (options.recall ? accounts.recall(secret) : null) ?? (await accounts.authenticate(secret));
    next();
  };
}
