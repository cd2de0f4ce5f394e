import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { CatalogService } from "./domain/catalog/service.js";
import { SpanTypeCache } from "./domain/catalog/span-types.js";
import { IdempotencyService } from "./domain/idempotency/service.js";
import { InstancesService } from "./domain/runs/instances.js";
import { SpansService } from "./domain/runs/spans.js";
import { TokensService } from "./domain/tokens/service.js";
import { AgentAnalyticsService } from "./domain/traces/analytics.js";
import { TraceIngestService } from "./domain/traces/ingest.js";
import { TracesService } from "./domain/traces/service.js";
import { activityMarkEveryMs, StaleRunSweeper } from "./domain/traces/sweeper.js";
import { tokenRateLimiter, type SlidingWindowRateLimiter } from "./http/rate-limit.js";

/** The domain services both dialects call. Built once per app from the database and config. */
export interface Services {
  accounts: AccountsService;
  catalog: CatalogService;
  instances: InstancesService;
  spans: SpansService;
  idempotency: IdempotencyService;
  tokens: TokensService;
  traceIngest: TraceIngestService;
  traces: TracesService;
  agentAnalytics: AgentAnalyticsService;
  /** Runs in the background from creation; `sweepStaleRuns(now)` sweeps at once. */
  sweeper: StaleRunSweeper;
  /** Per-token request limiter shared by both dialects (null when RATE_LIMIT_PER_MINUTE=0). */
  rateLimiter: SlidingWindowRateLimiter | null;
  /** Stops background work (sweepers); the database is closed by the caller. */
  close?: () => Promise<void>;
}

export function createServices(db: Database, config: Config, logger?: Logger): Services {
  const catalog = new CatalogService(db.prisma);
  const instances = new InstancesService(db.prisma, catalog);
  const sweeper = new StaleRunSweeper(db.prisma, config, logger);
  sweeper.start();
  return {
    accounts: new AccountsService(db.prisma, db.sql),
    catalog,
    instances,
    spans: new SpansService(
      db.prisma,
      db.sql,
      instances,
      new SpanTypeCache(),
      config.SPAN_VALIDATION === "strict",
      db.sqlTransaction,
      activityMarkEveryMs(config.RUN_TIMEOUT_MS),
    ),
    idempotency: new IdempotencyService(db.prisma, config.IDEMPOTENCY_TTL_HOURS),
    tokens: new TokensService(db.prisma),
    traceIngest: new TraceIngestService(db.prisma, db.sql, catalog, config, logger),
    traces: new TracesService(db.prisma, db.sql),
    agentAnalytics: new AgentAnalyticsService(db.prisma),
    sweeper,
    rateLimiter: tokenRateLimiter(config.RATE_LIMIT_PER_MINUTE),
    close: () => sweeper.stop(),
  };
}
