import cluster from "node:cluster";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { loadConfigOrExit, type Config } from "./config.js";
import { DatabaseStartupError, openDatabase, type Database } from "./db/database.js";
import { AccountsService } from "./domain/accounts/service.js";
import { createLogger } from "./http/logging.js";
import { startMetricsServer } from "./metrics.js";
import { createServices } from "./services.js";

const config = loadConfigOrExit(process.env);
const logger = createLogger(config.LOG_LEVEL);

async function open(migrate: boolean): Promise<Database> {
  try {
    return await openDatabase(config, { migrate, logger });
  } catch (error) {
    if (error instanceof DatabaseStartupError) {
      console.error(`spyglass: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

async function bootstrap(db: Database): Promise<void> {
  const boot = await new AccountsService(db.prisma, db.sql).bootstrap(config.SPYGLASS_ADMIN_TOKEN);
  if (boot.generatedAdminToken) {
    // Printed once, on the terminal only (never through the structured log): it is not stored.
    console.error(
      `\nspyglass: created account ${boot.accountId}. Admin token (shown once, store it now):\n\n  ${boot.generatedAdminToken}\n\n` +
        "Set SPYGLASS_ADMIN_TOKEN to choose your own instead.\n",
    );
  }
}

/** The metrics endpoint on METRICS_HOST:METRICS_PORT when METRICS_PORT is set (closeAllConnections: a scraper keeps its connection open). */
async function serveMetrics(cfg: Config, log: Logger, ofWorkers = false) {
  if (cfg.METRICS_PORT === undefined) return undefined;
  try {
    const server = await startMetricsServer(cfg.METRICS_PORT, cfg.METRICS_HOST, ofWorkers);
    log.info({ port: cfg.METRICS_PORT, host: cfg.METRICS_HOST }, "metrics on /metrics");
    return { close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
  } catch (error) {
    console.error(`spyglass: cannot serve metrics on ${cfg.METRICS_HOST}:${cfg.METRICS_PORT}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    process.exit(1);
  }
}

/** One HTTP server process: serves until SIGTERM/SIGINT, then drains (see shutdown below). */
async function serve(cfg: Config, log: Logger, db: Database): Promise<void> {
  const services = createServices(db, cfg, log);
  const app = createApp({ db, config: cfg, logger: log, services });
  let stopping = false;
  const server: Server = createServer(
    {
      requestTimeout: cfg.REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(cfg.REQUEST_TIMEOUT_MS, 60_000),
      keepAliveTimeout: 5_000,
      // Node enforces the two timeouts above only when it sweeps connections, every 30 s by
      // default; sweep often enough that a slow client is cut off close to REQUEST_TIMEOUT_MS.
      connectionsCheckingInterval: Math.min(1_000, Math.floor(cfg.REQUEST_TIMEOUT_MS / 2)),
    },
    (req, res) => {
      // Once stopping, every answer closes its connection: the client's next request goes to a
      // new connection (another replica, or this one's successor).
      if (stopping) res.setHeader("Connection", "close");
      app(req, res);
    },
  );
  // Not under the supervisor: it serves the sum of its server processes' metrics.
  const metricsServer = cluster.isWorker ? undefined : await serveMetrics(cfg, log);
  const inFlight = new Set<ServerResponse>();
  server.on("request", (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
  });
  server.listen(cfg.PORT, cfg.HOST);
  server.on("listening", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : cfg.PORT;
    log.info({ port, database: db.kind, pid: process.pid }, `spyglass listening on http://localhost:${port}`);
  });
  server.on("error", (error: NodeJS.ErrnoException) => {
    console.error(`spyglass: cannot listen on ${cfg.HOST}:${cfg.PORT}: ${error.code ?? error.message}`);
    process.exit(1);
  });

  /**
   * SIGTERM/SIGINT: stop taking connections and close the idle keep-alive ones; requests in
   * flight finish, and their answers (and any request that was already on its way on a busy
   * connection) close their connections. What is still running near SHUTDOWN_TIMEOUT_MS is
   * cancelled, database statements included, so that its client gets an answer (503: not done,
   * retry) rather than a reset; at SHUTDOWN_TIMEOUT_MS the process exits whatever is left.
   */
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeout = cfg.SHUTDOWN_TIMEOUT_MS;
    log.info({ signal, inFlight: inFlight.size, timeoutMs: timeout }, "shutting down: draining in-flight requests");
    for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
    const hardStop = setTimeout(() => {
      log.error({ inFlight: inFlight.size }, "shutdown timeout: exiting with work left");
      process.exit(1);
    }, timeout);
    hardStop.unref();
    // The last second (at most half the timeout) is for cancelled work to answer and for closing.
    const cancel = setTimeout(() => {
      log.warn({ inFlight: inFlight.size }, "shutdown: cancelling what is still running");
      void db.cancelRunning().catch(() => {});
      setTimeout(() => server.closeAllConnections(), Math.min(500, timeout / 4)).unref();
    }, Math.max(0, timeout - Math.min(1_000, timeout / 2)));
    cancel.unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.all([closed, services.close?.(), metricsServer?.close()]);
    clearTimeout(cancel);
    await db.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/**
 * WEB_CONCURRENCY > 1 (PostgreSQL only): this process migrates and bootstraps once, then runs that
 * many server processes sharing the port, restarting any that dies, and stops them all on
 * SIGTERM/SIGINT. The API holds no state that matters, so the processes need no coordination.
 */
async function supervise(): Promise<void> {
  const db = await open(true);
  await bootstrap(db);
  await db.close();
  let stopping = false;
  let running = 0;
  const fork = () => {
    running++;
    cluster.fork();
  };
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) fork();
  await serveMetrics(config, logger, true);
  cluster.on("exit", (worker, code, signal) => {
    running--;
    if (stopping) {
      if (running === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, "server process died; starting another");
    setTimeout(fork, 1_000).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping server processes");
    if (running === 0) process.exit(0);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (config.WEB_CONCURRENCY > 1 && cluster.isPrimary) {
  await supervise();
} else if (cluster.isWorker) {
  // The supervisor has migrated and bootstrapped already.
  await serve(config, logger, await open(false));
} else {
  const db = await open(true);
  await bootstrap(db);
  await serve(config, logger, db);
}
