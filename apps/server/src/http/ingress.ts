import type { RequestHandler } from "express";
import type { Config } from "../config.js";
import { AppError } from "../domain/shared/app-error.js";
import type { Services } from "../services.js";
import { authenticate } from "./auth.js";
import { jsonBody } from "./body.js";
import { rateLimit } from "./rate-limit.js";

/**
 * PostgreSQL text cannot hold NUL, and a %00 in a path parameter or query value would otherwise
 * reach a query and come back as a database error; refuse it at the door.
 */
const rejectNulInUrl: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.originalUrl)) throw new AppError("bad_request", "the URL must not contain %00");
  next();
};

/** While the embedded database's disk is nearly full, writes get 503 (see DiskSpaceGuard); reads go on. */
export function refuseWritesWithoutSpace(services: Services): RequestHandler {
  return (req, _res, next) => {
    const error = req.method === "GET" || req.method === "HEAD" ? undefined : services.spaceError();
    if (error) throw error;
    next();
  };
}

/**
 * What every request of both dialects goes through before its route, in order: URL sanity, the
 * token (from the headers: nothing of the body is read, inflated or parsed for a caller without a
 * valid token), the token's rate limit, then the JSON body. Each dialect router mounts this first
 * and its own error mapper last, so every failure here comes back in that dialect's envelope.
 * `recallToken` is for routes whose every statement carries the token check (see
 * AccountsService.recall).
 */
export function ingress(services: Services, config: Config, options: { recallToken?: boolean } = {}): RequestHandler[] {
  return [
    rejectNulInUrl,
    authenticate(services.accounts, { recall: options.recallToken, failures: services.authFailures }),
    rateLimit(services.rateLimiter),
    refuseWritesWithoutSpace(services),
    ...jsonBody(config.JSON_BODY_LIMIT_BYTES),
  ];
}
