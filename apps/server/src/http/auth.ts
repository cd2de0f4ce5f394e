import type { Request, RequestHandler } from "express";
import type { AccountsService } from "../domain/accounts/service.js";
import { AppError } from "../domain/shared/app-error.js";
import { bearerToken } from "./context.js";
import type { SlidingWindowRateLimiter } from "./rate-limit.js";

function tooManyFailures(limiter: SlidingWindowRateLimiter, retryAfterSeconds: number): AppError {
  return new AppError(
    "rate_limited",
    `too many failed authentications from this address (limit ${limiter.limit} per minute); retry in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}

const isAuthFailure = (error: unknown) => error instanceof AppError && (error.code === "bad_authtoken" || error.code === "not_authenticated");

/** The client's address: the socket's, or the forwarding proxy's account of it when TRUST_PROXY says so. */
const addressOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";

/**
 * Resolves the bearer token to req.auth from the headers alone, before the body is read; failures
 * go to the dialect's error mapper. With `recall` (the per-span write routes only, whose statement
 * checks the token's state itself), a secret this process authenticated before is taken from
 * memory instead of read again: one round trip fewer.
 *
 * With `failures`, an address whose failed authentications are over the limit gets 429 (with
 * Retry-After) instead of a lookup, unless it presents a secret this process has authenticated
 * before: clients sharing an address (a NAT, an untrusted proxy) with a token guesser keep working.
 */
export function authenticate(accounts: AccountsService, options: { recall?: boolean; failures?: SlidingWindowRateLimiter | null } = {}): RequestHandler {
  const failures = options.failures ?? null;
  return async (req, _res, next) => {
    const secret = bearerToken(req);
    if (failures) {
      const blocked = failures.peek(addressOf(req));
      if (!blocked.allowed && !accounts.recall(secret)) throw tooManyFailures(failures, blocked.retryAfterSeconds);
    }
    try {
      req.auth = (options.recall ? accounts.recall(secret) : null) ?? (await accounts.authenticate(secret));
    } catch (error) {
      if (failures && isAuthFailure(error)) {
        const counted = failures.hit(addressOf(req));
        if (!counted.allowed) throw tooManyFailures(failures, counted.retryAfterSeconds);
      }
      throw error;
    }
    next();
  };
}
