import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { CatalogService } from "./domain/catalog/service.js";
import { SpanTypeCache } from "./domain/catalog/span-types.js";
import { IdempotencyService } from "./domain/idempotency/service.js";
import { InstancesService } from "./domain/runs/instances.js";
import { SpansService } from "./domain/runs/spans.js";
import { PriceService } from "./domain/prices/service.js";
import { TokensService } from "./domain/tokens/service.js";
import { AgentAnalyticsService } from "./domain/traces/analytics.js";
import { TraceIngestService } from "./domain/traces/ingest.js";
import { TracesService } from "./domain/traces/service.js";
import { RetentionService } from "./domain/retention/service.js";
import { activityMarkEveryMs, StaleRunSweeper } from "./domain/traces/sweeper.js";
import { PeriodicTask } from "./domain/shared/periodic.js";
import { EventQuota } from "./domain/usage/quota.js";
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
  prices: PriceService;
  /**
   * The monthly event quota every ingest path reserves its spans with before writing them
   * (`reserve(accountId, spans)`, then `settle(stored)`); 429 with Retry-After when over it.
   */
  quota: EventQuota;
  /** Runs in the background from creation; `sweepStaleRuns(now)` sweeps at once. */
  sweeper: StaleRunSweeper;
  /** Deletes expired runs in the background from creation; `purge(now)` runs one pass at once. */
  retention: RetentionService;
  /** Per-token request limiter shared by both dialects (null when RATE_LIMIT_PER_MINUTE=0). */
  rateLimiter: SlidingWindowRateLimiter | null;
  /** Why writes must be refused now (the embedded database's disk is nearly full), if they must. */
  spaceError: () => Error | undefined;
  /** Failed authentications per client address (null when AUTH_FAILURES_PER_MINUTE=0). */
  authFailures: SlidingWindowRateLimiter | null;
  /** Stops background work (stale-run sweep, idempotency and retention purges); the database is closed by the caller. */
  close?: () => Promise<void>;
}

export function createServices(db: Database, config: Config, logger?: Logger): Services {
  const catalog = new CatalogService(db.prisma);
  const instances = new InstancesService(db.prisma, catalog);
  const quota = new EventQuota(db.prisma, config.EVENT_LIMIT_MONTHLY, logger);
  // Background writes wait while the embedded database's disk is nearly full.
  const noSpace = () => db.spaceError() !== undefined;
  const sweeper = new StaleRunSweeper(db.prisma, config, logger, noSpace);
  sweeper.start();
  const prices = new PriceService(db.prisma);
  const idempotency = new IdempotencyService(db.prisma, config.IDEMPOTENCY_TTL_HOURS);
  // Expired keys are free again whether or not their record is still there (a claim takes an
  // expired record over): the purge only keeps the table to about a TTL's worth of records.
  const purge = new PeriodicTask("idempotency purge", config.SWEEP_INTERVAL_MS, async () => {
    const deleted = await idempotency.purgeExpired();
    if (deleted > 0) logger?.info({ deleted }, "purged expired idempotency records");
  }, logger, noSpace);
  purge.start();
  const retention = new RetentionService(db.sql, config.RETENTION_DAYS ?? null, logger);
  const retire = new PeriodicTask("retention purge", config.SWEEP_INTERVAL_MS, async () => {
    await retention.purge();
  }, logger);
  retire.start();
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
      quota,
      prices,
      db.sqlTransaction,
      activityMarkEveryMs(config.RUN_TIMEOUT_MS),
    ),
    idempotency,
    tokens: new TokensService(db.prisma),
    traceIngest: new TraceIngestService(db.sql, catalog, quota, prices, config, logger),
    quota,
    traces: new TracesService(db.prisma, db.sql),
    agentAnalytics: new AgentAnalyticsService(db.prisma),
    prices,
    sweeper,
    retention,
    rateLimiter: tokenRateLimiter(config.RATE_LIMIT_PER_MINUTE),
    spaceError: () => db.spaceError(),
    authFailures: tokenRateLimiter(config.AUTH_FAILURES_PER_MINUTE),
    close: async () => {
      await Promise.all([sweeper.stop(), purge.stop(), retire.stop()]);
    },
  };
}
