import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { AgentsService } from "./domain/agents/service.js";
import { CatalogService } from "./domain/catalog/service.js";
import { SpanTypeCache } from "./domain/catalog/span-types.js";
import { IdempotencyService } from "./domain/idempotency/service.js";
import { InstancesService } from "./domain/runs/instances.js";
import { SpansService } from "./domain/runs/spans.js";

/** The domain services both dialects call. Built once per app from the database and config. */
export interface Services {
  accounts: AccountsService;
  agents: AgentsService;
  catalog: CatalogService;
  instances: InstancesService;
  spans: SpansService;
  idempotency: IdempotencyService;
  /** Stops background work (sweepers); the database is closed by the caller. */
  close?: () => Promise<void>;
}

export function createServices(db: Database, config: Config): Services {
  const catalog = new CatalogService(db.prisma);
  const instances = new InstancesService(db.prisma, catalog);
  return {
    accounts: new AccountsService(db.prisma),
    agents: new AgentsService(db.prisma),
    catalog,
    instances,
    spans: new SpansService(db.prisma, instances, new SpanTypeCache(), config.SPAN_VALIDATION === "strict"),
    idempotency: new IdempotencyService(db.prisma, config.IDEMPOTENCY_TTL_HOURS),
  };
}
