import { randomBytes } from "node:crypto";
import pg from "pg";
import request from "supertest";
import type { Express } from "express";
import { pino } from "pino";
import { createApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import { openDatabase, type Database } from "../../src/db/database.js";
import { createServices, type Services } from "../../src/services.js";

export interface TestContext {
  app: Express;
  db: Database;
  config: Config;
  services: Services;
  /** All-scopes token of the context's first account. */
  token: string;
  accountId: string;
  /** A second tenant, for isolation checks. */
  newAccount(name?: string): Promise<{ accountId: string; token: string }>;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database on the server of `base`, and how to drop it. */
export async function createScratchDatabase(base: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A real database per test file: an in-memory PGlite by default; when DATABASE_URL is set, a fresh
 * PostgreSQL database created on that server and dropped afterwards. Never a mock.
 */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const adminToken = `sg_test_${randomBytes(16).toString("hex")}`;
  const scratch = process.env.DATABASE_URL ? await createScratchDatabase(process.env.DATABASE_URL, "spyglass_t") : undefined;
  const databaseUrl = scratch?.url;
  const dropDatabase = scratch?.drop ?? (async () => {});
  const config = loadConfig({
    SPYGLASS_DATA_DIR: "memory://",
    LOG_LEVEL: "silent",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, DB_POOL_SIZE: "8" } : {}),
    SPYGLASS_ADMIN_TOKEN: adminToken,
    ...env,
  });
  const db = await openDatabase(config);
  const services = createServices(db, config);
  const boot = await services.accounts.bootstrap(adminToken);
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const app = createApp({ db, config, logger, services });
  return {
    app,
    db,
    config,
    services,
    token: adminToken,
    accountId: boot.accountId,
    async newAccount(name = "other") {
      const created = await services.accounts.createAccount(name);
      return { accountId: created.accountId, token: created.adminToken };
    },
    http: () => request(app),
    async close() {
      await services.close?.();
      await db.close();
      await dropDatabase();
    },
  };
}
