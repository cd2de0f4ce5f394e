import type { RequestHandler } from "express";
import type { AccountsService } from "../domain/accounts/service.js";
import { bearerToken } from "./context.js";

/** Resolves the bearer token to req.auth; failures go to the dialect's error mapper. */
export function authenticate(accounts: AccountsService): RequestHandler {
  return async (req, _res, next) => {
    req.auth = await accounts.authenticate(bearerToken(req));
    next();
  };
}
