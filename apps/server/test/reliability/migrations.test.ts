/**
 * Start-up migrations on PostgreSQL that recover: a server killed in the middle of one leaves
 * nothing that blocks the next start (PostgreSQL rolled the migration back whole; the next start
 * applies it again), and a server that has migrated holds no lock that makes the next one wait.
 *
 * To stop a server inside a migration on purpose, the test applies every migration but the last
 * to a fresh database and holds ACCESS SHARE on every table: the last migration's script waits
 * as soon as it alters one (if a future last migration alters none, the test says it never
 * started waiting: give it something else to wait for).
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, listMigrations, migrationsDir } from "../../src/db/migrations.js";
import { createScratchDatabase } from "../helpers/context.js";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

const base = process.env.DATABASE_URL;
if (!base) console.warn("migrations.test.ts SKIPPED: PostgreSQL only (set DATABASE_URL)");

const TOKEN = `migrations-admin-${randomBytes(8).toString("hex")}`;
const names = listMigrations().migrationDirectories.map((m) => m.path);
const LAST = names.at(-1)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let url: string;
const drops: (() => Promise<void>)[] = [];
const servers: RunningServer[] = [];
let allButLast: string;

beforeAll(() => {
  allButLast = mkdtempSync(path.join(tmpdir(), "spyglass-migrations-"));
  cpSync(migrationsDir, allButLast, { recursive: true, filter: (source) => path.basename(source) !== LAST });
});

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.exited));
  for (const drop of drops) await drop();
  rmSync(allButLast, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh database with every migration applied but the last: the next start has it to apply. */
async function migratedButTheLast(): Promise<void> {
  const scratch = await createScratchDatabase(base!, "spyglass_migr");
  url = scratch.url;
  drops.push(scratch.drop);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await applyMigrations(new PrismaPg(pool), (text) => pool.query(text), listMigrations(allButLast));
  } finally {
    await pool.end();
  }
}

/** A transaction holding what the last migration's script must wait for. */
async function holdLastMigration(): Promise<{ client: pg.Client; release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  const tables = await client.query<{ name: string }>("SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'");
  await client.query(`LOCK TABLE ${tables.rows.map((t) => t.name).join(", ")} IN ACCESS SHARE MODE`);
  return {
    client,
    release: async () => {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

/** Waits until a backend of this database waits for a lock inside the migration of LAST. */
async function migrationBlocked(server: RunningServer): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    const [row] = await query<{ started: boolean; waiting: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM _prisma_migrations WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL) AS started,
              EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting`,
      [LAST],
    );
    if (row?.started && row.waiting) return;
    await sleep(100);
  }
  throw new Error("the migration never started waiting for the lock");
}

async function start(): Promise<RunningServer> {
  const server = spawnServer({ DATABASE_URL: url, SPYGLASS_ADMIN_TOKEN: TOKEN, LOG_LEVEL: "warn" }, await freePort());
  servers.push(server);
  return server;
}

async function expectFullyMigrated(): Promise<void> {
  const rows = await query<{ migration_name: string }>(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`);
  expect(rows.map((r) => r.migration_name).sort()).toEqual([...names].sort());
}

async function advisoryLocks(): Promise<number> {
  const [row] = await query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  return Number(row!.n);
}

describe.skipIf(!base)("start-up migrations on PostgreSQL", () => {
  it("a server killed (SIGKILL) inside a migration leaves nothing that blocks the next start: the migration is applied again", async () => {
    await migratedButTheLast();
    const lock = await holdLastMigration();
    const first = await start();
    try {
      await migrationBlocked(first);
      first.child.kill("SIGKILL");
      await first.exited;
      // The killed process's backend may still wait for the lock (PostgreSQL notices a vanished
      // client only when it next talks to it); end it as a host that went down would.
      await lock.client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    } finally {
      await lock.release();
    }
    const [interrupted] = await query<{ n: string }>(`SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL`);
    expect(Number(interrupted!.n)).toBe(1);

    const second = await start();
    await waitReady(second, 110_000);
    await expectFullyMigrated();
    const [recovered] = await query<{ n: string }>(`SELECT count(*) AS n FROM _prisma_migrations WHERE migration_name = $1 AND rolled_back_at IS NOT NULL`, [LAST]);
    expect(Number(recovered!.n)).toBe(1);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 240_000);

  it("a second server starting while the first migrates waits for it, then starts; neither keeps the migration lock", async () => {
    await migratedButTheLast();
    const lock = await holdLastMigration();
    const first = await start();
    let second: RunningServer | undefined;
    try {
      await migrationBlocked(first);
      second = await start();
      // The second waits for the first's migration rather than failing or migrating alongside.
      await sleep(3000);
      expect(second.child.exitCode).toBeNull();
      expect((await fetch(`${second.baseUrl}/readyz`).catch(() => undefined))?.status).not.toBe(200);
    } finally {
      await lock.release();
    }
    await Promise.all([waitReady(first, 110_000), waitReady(second!, 110_000)]);
    await expectFullyMigrated();
    // Both up and serving; the migration lock went with the connection that migrated (it used
    // to stay on an idle pooled connection, and the next server with a migration waited for it).
    expect(await advisoryLocks()).toBe(0);
    for (const s of [first, second!]) s.child.kill("SIGTERM");
    for (const s of [first, second!]) expect(await s.exited).toBe(0);
  }, 300_000);
});
