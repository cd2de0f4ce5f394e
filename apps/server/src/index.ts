import type { Server } from "node:http";
import { createApp } from "./app.js";
import { loadConfigOrExit } from "./config.js";
import { DatabaseStartupError, openDatabase, type Database } from "./db/database.js";
import { createLogger } from "./http/logging.js";
import { createServices } from "./services.js";

const config = loadConfigOrExit(process.env);
const logger = createLogger(config.LOG_LEVEL);

let db: Database;
try {
  db = await openDatabase(config);
} catch (error) {
  if (error instanceof DatabaseStartupError) {
    console.error(`spyglass: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const services = createServices(db, config, logger);
const boot = await services.accounts.bootstrap(config.SPYGLASS_ADMIN_TOKEN);
if (boot.generatedAdminToken) {
  // Printed once, on the terminal only (never through the structured log): it is not stored.
  console.error(
    `\nspyglass: created account ${boot.accountId}. Admin token (shown once, store it now):\n\n  ${boot.generatedAdminToken}\n\n` +
      "Set SPYGLASS_ADMIN_TOKEN to choose your own instead.\n",
  );
}

const app = createApp({ db, config, logger, services });
const server: Server = app.listen(config.PORT, config.HOST);
server.requestTimeout = config.REQUEST_TIMEOUT_MS;
server.headersTimeout = Math.min(config.REQUEST_TIMEOUT_MS, 60_000);
server.keepAliveTimeout = 5_000;

server.on("listening", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  logger.info({ port, database: db.kind }, `spyglass listening on http://localhost:${port}`);
});
server.on("error", (error: NodeJS.ErrnoException) => {
  console.error(`spyglass: cannot listen on ${config.HOST}:${config.PORT}: ${error.code ?? error.message}`);
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: draining in-flight requests");
  const force = setTimeout(() => {
    logger.warn("shutdown timeout: closing remaining connections");
    server.closeAllConnections();
  }, config.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await services.close?.();
  await db.close();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
