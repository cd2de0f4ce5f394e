import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { Config } from "../config.js";
import type { Logger } from "pino";
import { DiskFullError, DiskSpaceGuard } from "./disk-space.js";
import { metrics } from "../metrics.js";
import { applyMigrations, MIGRATION_LOCK_SQL, migrationsUpToDate } from "./migrations.js";
import { DataDirInUseError, lockDataDir, type DataDirLock } from "./data-dir-lock.js";

export type Prisma = PrismaClient;

/**
 * Plain parameterized SQL on the same connections Prisma uses (its pg pool, or the PGlite
 * instance), for the hot paths: the token lookup of every request, span writes, the dashboard's
 * reads and batch ingest. Prisma's per-query machinery cost 0.5–0.8 ms a query here, more than
 * those queries, and it serializes every raw parameter to JSON and back (a 100-span batch is one
 * ~200 KB parameter). Repositories only; they build the SQL with Prisma.sql (see runSql).
 */
export interface SqlDriver {
  /**
   * With `prepared`, the statement is parsed once per pooled connection (a named statement)
   * instead of on every call: for the hot writes of a fixed shape (span create and finish), whose
   * parse and analysis cost PostgreSQL about as much as executing them. They are still planned for
   * their values on every call (plan_cache_mode = force_custom_plan on the server's connections):
   * PostgreSQL's generic plan for such a statement, made while the tables had no statistics, found
   * runs and spans by their account instead of by their key, and span writes took 1.2-1.7 ms of
   * backend time instead of 0.3. Only for a bounded set of texts (each stays prepared for the
   * connection's life). Ignored on PGlite.
   */
  query<T>(text: string, params: unknown[], prepared?: boolean): Promise<T[]>;
}

/** Names of prepared statements: one per distinct text, at most PREPARED_LIMIT of them. */
const PREPARED_LIMIT = 64;
const preparedNames = new Map<string, string>();

function pgQuery(text: string, values: unknown[], prepared: boolean | undefined): pg.QueryConfig {
  if (!prepared) return { text, values };
  let name = preparedNames.get(text);
  if (name === undefined) {
    // Past the bound a text runs unprepared: statements of unbounded shapes must not pile up on
    // every connection.
    if (preparedNames.size >= PREPARED_LIMIT) return { text, values };
    name = `spyglass_${preparedNames.size}`;
    preparedNames.set(text, name);
  }
  return { name, text, values };
}

/**
 * Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled
 * back when it throws. PostgreSQL only: PGlite has one session, which queries made meanwhile
 * through Prisma would wait for (a deadlock) or join.
 */
export type SqlTransaction = <T>(work: (sql: SqlDriver) => Promise<T>) => Promise<T>;

export interface Database {
  kind: "pglite" | "postgresql";
  prisma: PrismaClient;
  sql: SqlDriver;
  /** Null on PGlite (see SqlTransaction). */
  sqlTransaction: SqlTransaction | null;
  /** Throws when the database cannot answer a trivial query, or must not be written to (disk full). */
  ping(): Promise<void>;
  /** Why writes must be refused now (the embedded database's disk is nearly full), if they must. */
  spaceError(): Error | undefined;
  /**
   * Applies the committed migrations not yet applied (recovering an interrupted one), and
   * returns their names. On PostgreSQL on a connection of its own, which holds the migration
   * lock, has no statement timeout (a migration may rewrite a large table) and is closed as soon
   * as migrating ends: a lock left on a pooled connection made the next server that had a
   * migration to apply wait for it until it gave up.
   */
  migrate(): Promise<string[]>;
  /**
   * Cancels the statements running on this process's connections (their transactions roll back
   * and their requests answer 503), for a shutdown that must end. Nothing to cancel on PGlite:
   * a statement there runs in this thread, which is not free to do anything else meanwhile.
   */
  cancelRunning(): Promise<void>;
  close(): Promise<void>;
}

/** A start-up failure with a message meant for the operator, printed without a stack. */
export class DatabaseStartupError extends Error {}

type DbConfig = Pick<Config, "DATABASE_URL" | "SPYGLASS_DATA_DIR" | "DB_POOL_SIZE"> &
  Partial<Pick<Config, "DB_POOL_ACQUIRE_TIMEOUT_MS" | "DB_STATEMENT_TIMEOUT_MS" | "DISK_FREE_MIN_MB">>;

function describe(error: unknown): string {
  // Prisma wraps driver failures; the useful part is the adapter's cause (kind, original message).
  const cause = (error as { meta?: { driverAdapterError?: { cause?: Record<string, unknown> } } }).meta?.driverAdapterError?.cause;
  if (cause) {
    const detail = cause.originalMessage ?? (cause.kind === "DatabaseNotReachable" ? "server not reachable" : undefined);
    return [cause.kind, detail].filter(Boolean).join(": ");
  }
  const message = (error as { message?: unknown }).message;
  const lines = typeof message === "string" ? message.split("\n").map((l) => l.trim()).filter(Boolean) : [];
  const code = (error as { code?: unknown }).code;
  return [typeof code === "string" ? code : undefined, lines.at(-1)].filter(Boolean).join(": ") || String(error);
}

/** The migrations recorded as applied; none when the database has never been migrated. */
async function appliedMigrations(prisma: PrismaClient): Promise<{ name: string; checksum: string }[]> {
  const [table] = await prisma.$queryRaw<{ found: boolean }[]>`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`;
  if (!table?.found) return [];
  return prisma.$queryRaw<{ name: string; checksum: string }[]>`
    SELECT migration_name AS name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
}

export async function openDatabase(config: DbConfig, options: { migrate?: boolean; logger?: Logger } = {}): Promise<Database> {
  const migrate = options.migrate ?? true;
  let db: Database;
  let where: string;
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL);
    where = `PostgreSQL at ${url.hostname}:${url.port || "5432"}${url.pathname}`;
    // One pool for Prisma and for plain SQL, ended by close(). An idle connection's error (the
    // server restarting, say) is not fatal: the pool drops that connection and opens another.
    // Prepared statements are planned for their values on every call (see SqlDriver.query); set
    // before a new connection is handed out. (spyglass_ingest_traces sets its own mode back to
    // auto: its statements are written for the plan cache.)
    // Bounded waits: a request waits at most DB_POOL_ACQUIRE_TIMEOUT_MS for a connection (pg-pool
    // counts the wait in its queue and the connecting together) and each statement runs at most
    // DB_STATEMENT_TIMEOUT_MS (waiting for a lock included) before the server cancels it; both
    // then answer 503 (db/transient.ts). TCP keepalives notice a server that vanished without a
    // word (a network partition) on connections in use.
    const pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: config.DB_POOL_SIZE,
      connectionTimeoutMillis: config.DB_POOL_ACQUIRE_TIMEOUT_MS ?? 5_000,
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS ?? 30_000,
      keepAlive: true,
      onConnect: async (client) => {
        await client.query("SET plan_cache_mode = force_custom_plan");
      },
    });
    pool.on("error", () => {});
    metrics.watchPool(() => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }));
    const clients = new Set<pg.PoolClient>();
    pool.on("connect", (client) => {
      // A connection that dies while checked out between two statements (a transaction's, the
      // server shutting down) emits "error" on its client, and an unheard "error" ends the
      // process. The holder's next statement fails (503) and the pool drops the broken client.
      client.on("error", () => {});
      clients.add(client);
      client.once("end", () => clients.delete(client));
    });
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    db = {
      kind: "postgresql",
      prisma,
      sql: { query: async <T>(text: string, params: unknown[], prepared?: boolean) => (await pool.query(pgQuery(text, params, prepared))).rows as T[] },
      sqlTransaction: async (work) => {
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          await client.query("BEGIN");
          const result = await work({
            query: async <T>(text: string, params: unknown[], prepared?: boolean) => (await client.query(pgQuery(text, params, prepared))).rows as T[],
          });
          await client.query("COMMIT");
          return result;
        } catch (error) {
          // A connection that cannot even roll back is not handed to the next caller.
          await client.query("ROLLBACK").catch((e: unknown) => {
            broken = e instanceof Error ? e : new Error(String(e));
          });
          throw error;
        } finally {
          client.release(broken);
        }
      },
      ping: async () => {
        await prisma.$queryRaw`SELECT 1`;
      },
      spaceError: () => undefined,
      migrate: async () => {
        const own = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, idleTimeoutMillis: 0, keepAlive: true });
        own.on("error", () => {});
        try {
          // Waits for another server's migration to end (then finds nothing left to do).
          await own.query(MIGRATION_LOCK_SQL);
          return await applyMigrations(new PrismaPg(own), (text) => own.query(text));
        } finally {
          await own.end();
        }
      },
      cancelRunning: async () => {
        const pids = [...clients].map((c) => (c as unknown as { processID?: number }).processID).filter((pid) => typeof pid === "number");
        if (!pids.length) return;
        const admin = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 1_000 });
        await admin.connect();
        try {
          await admin.query("SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
        } finally {
          await admin.end();
        }
      },
      close: async () => {
        await prisma.$disconnect();
        await pool.end();
      },
    };
  } else {
    // "memory://" keeps the database in memory (tests); anything else is a directory on disk.
    const inMemory = config.SPYGLASS_DATA_DIR.startsWith("memory://");
    const dataDir = inMemory ? config.SPYGLASS_DATA_DIR : path.resolve(config.SPYGLASS_DATA_DIR);
    where = inMemory ? "the in-memory embedded database" : `the embedded database in ${dataDir}`;
    let pglite: PGlite;
    let lock: DataDirLock | null = null;
    let guard: DiskSpaceGuard | undefined;
    try {
      if (!inMemory) {
        mkdirSync(dataDir, { recursive: true });
        lock = await lockDataDir(dataDir);
      }
      if (!inMemory && config.DISK_FREE_MIN_MB) {
        guard = new DiskSpaceGuard(dataDir, config.DISK_FREE_MIN_MB * 2 ** 20, options.logger);
        guard.start();
      }
      pglite = await PGlite.create(dataDir);
    } catch (error) {
      guard?.stop();
      await lock?.release();
      if (error instanceof DataDirInUseError) throw new DatabaseStartupError(error.message);
      // PGlite says only "failed to initialize properly" when it found no room for its files.
      const full = guard?.full ? `disk full (${Math.floor(guard.freeBytes() / 2 ** 20)} MB free, DISK_FREE_MIN_MB=${config.DISK_FREE_MIN_MB}); ` : "";
      throw new DatabaseStartupError(`cannot open ${where}: ${full}${describe(error)}`);
    }
    const adapterFactory = new PrismaPGlite(pglite);
    const prisma = new PrismaClient({ adapter: adapterFactory });
    db = {
      kind: "pglite",
      prisma,
      sql: { query: async <T>(text: string, params: unknown[]) => (await pglite.query<T>(text, params)).rows },
      sqlTransaction: null,
      ping: async () => {
        if (guard?.full) throw new DiskFullError(dataDir);
        await prisma.$queryRaw`SELECT 1`;
      },
      spaceError: () => (guard?.full ? new DiskFullError(dataDir) : undefined),
      migrate: () => applyMigrations(adapterFactory, (text) => pglite.exec(text)),
      cancelRunning: async () => {},
      close: async () => {
        guard?.stop();
        await prisma.$disconnect();
        await pglite.close();
        await lock?.release();
      },
    };
  }
  try {
    // Not db.ping(): a nearly full disk is no reason not to start (reads are served, writes get
    // 503 and readiness is false until space is back), unless there are migrations to apply.
    await db.prisma.$queryRaw`SELECT 1`;
    if (migrate && !migrationsUpToDate(await appliedMigrations(db.prisma))) {
      const full = db.spaceError();
      if (full) throw full;
      await db.migrate();
    }
  } catch (error) {
    await db.close().catch(() => {});
    throw new DatabaseStartupError(`cannot use ${where}: ${describe(error)}`);
  }
  return db;
}
