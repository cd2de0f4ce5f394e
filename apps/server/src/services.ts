import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { AgentsService } from "./domain/agents/service.js";
import { tokenRateLimiter, type SlidingWindowRateLimiter } from "./http/rate-limit.js";

/** The domain services both dialects call. Built once per app from the database and config. */
export interface Services {
  accounts: AccountsService;
  agents: AgentsService;
  /** Per-token request limiter shared by both dialects (null when RATE_LIMIT_PER_MINUTE=0). */
  rateLimiter: SlidingWindowRateLimiter | null;
  /** Stops background work (sweepers); the database is closed by the caller. */
  close?: () => Promise<void>;
}

export function createServices(db: Database, config: Config): Services {
  return {
    accounts: new AccountsService(db.prisma),
    agents: new AgentsService(db.prisma),
    rateLimiter: tokenRateLimiter(config.RATE_LIMIT_PER_MINUTE),
  };
}
