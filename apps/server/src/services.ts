import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { AgentsService } from "./domain/agents/service.js";

/** The domain services both dialects call. Built once per app from the database and config. */
export interface Services {
  accounts: AccountsService;
  agents: AgentsService;
  /** Stops background work (sweepers); the database is closed by the caller. */
  close?: () => Promise<void>;
}

export function createServices(db: Database, _config: Config): Services {
  return {
    accounts: new AccountsService(db.prisma),
    agents: new AgentsService(db.prisma),
  };
}
