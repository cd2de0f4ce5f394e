import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { agentvistaRouter } from "./dialects/agentvista/router.js";
import { otlpRouter } from "./dialects/otlp/router.js";
import { prefactorRouter } from "./dialects/prefactor/router.js";
import { docsRouter } from "./http/docs.js";
import { prefactorErrorHandler, routeNotFound } from "./http/errors.js";
import { requestLogger } from "./http/logging.js";
import { requestMetrics } from "./metrics.js";
import { securityHeaders } from "./http/security-headers.js";
import { useQueryParser } from "./http/query.js";
import { DEFAULT_WEB_DIR, webRouter } from "./http/web.js";
import { createServices, type Services } from "./services.js";

export interface AppDeps {
  db: Database;
  config: Config;
  logger: Logger;
  services?: Services;
}

/** Builds the HTTP app. Never listens: index.ts does, and tests drive it with supertest. */
export function createApp(deps: AppDeps): Express {
  const { db, config, logger } = deps;
  const services = deps.services ?? createServices(db, config, logger);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  if (config.TRUST_PROXY !== undefined) {
    // Only then is X-Forwarded-For believed for the client address (per-address failure limit, logs).
    app.set("trust proxy", /^\d+$/.test(config.TRUST_PROXY) ? Number(config.TRUST_PROXY) : config.TRUST_PROXY);
  }
  app.use(securityHeaders());
  useQueryParser(app);
  app.use(requestLogger(logger));
  app.use(requestMetrics());

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await db.ping();
      res.json({ status: "ok", database: db.kind });
    } catch {
      res.status(503).json({ status: "unavailable", database: db.kind });
    }
  });
  app.use(docsRouter());
  // Metrics are served on METRICS_PORT only; a scraper pointed at the API gets a clear 404, not the dashboard's page.
  app.get("/metrics", routeNotFound);

  app.use(otlpRouter(services, config));
  app.use("/api/v1", agentvistaRouter(services, config));
  app.use("/api/v1", prefactorRouter(services, config));
  app.use(webRouter(config.SPYGLASS_WEB_DIR ?? DEFAULT_WEB_DIR));

  app.use(routeNotFound);
  app.use(prefactorErrorHandler);
  return app;
}
