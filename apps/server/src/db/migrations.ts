import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MigrationList } from "@prisma/schema-engine-wasm";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { openSchemaEngine } from "./schema-engine.js";

// Works from src/db (tsx, vitest) and dist/db (built): both are two levels below the package.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const schemaPath = path.join(packageRoot, "prisma", "schema.prisma");
export const migrationsDir = path.join(packageRoot, "prisma", "migrations");

const noFilters = { externalTables: [], externalEnums: [] };

export function listMigrations(dir = migrationsDir): MigrationList {
  const lockPath = path.join(dir, "migration_lock.toml");
  const directories = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: {
      path: "migration_lock.toml",
      content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null,
    },
    shadowDbInitScript: "",
    migrationDirectories: directories.map((name) => {
      const file = path.join(dir, name, "migration.sql");
      return {
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: existsSync(file)
            ? { tag: "ok" as const, value: readFileSync(file, "utf8") }
            : { tag: "error" as const, value: `missing ${file}` },
        },
      };
    }),
  };
}

/**
 * Whether `applied` (the finished, not rolled back rows of `_prisma_migrations`) holds every
 * committed migration with its checksum (sha256 of the script, as the engine records it). Then
 * there is nothing to apply and start-up need not load the schema engine, a WASM module that adds
 * tens of MB to the process for its whole life.
 */
export function migrationsUpToDate(applied: { name: string; checksum: string }[]): boolean {
  const recorded = new Map(applied.map((m) => [m.name, m.checksum]));
  return listMigrations().migrationDirectories.every(
    (m) => m.migrationFile.content.tag === "ok" && recorded.get(m.path) === createHash("sha256").update(m.migrationFile.content.value).digest("hex"),
  );
}

/** The advisory lock Prisma's schema engine takes while migrating (session level, re-entrant). */
export const MIGRATION_LOCK_SQL = "SELECT pg_advisory_lock(72707369)";

/**
 * A migration recorded as started but not finished was interrupted (the process killed, the
 * connection lost) before its script committed: its script and its `finished_at` commit together
 * (schema-engine.ts), and PostgreSQL's DDL is transactional, so none of it is in the database.
 * Marked rolled back, it is applied again by the same run, where the engine would otherwise refuse
 * every start with P3009 until someone edited the table. Run under the migration lock only: a row
 * another process is applying at this moment is unfinished too.
 */
const RECOVER_INTERRUPTED = `
DO $spyglass$ BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    UPDATE "_prisma_migrations"
    SET "rolled_back_at" = now(), "logs" = 'interrupted before its script committed (rolled back whole by the database); applied again'
    WHERE "finished_at" IS NULL AND "rolled_back_at" IS NULL;
  END IF;
END $spyglass$`;

/**
 * Applies every committed migration not yet recorded in `_prisma_migrations`, first recovering
 * interrupted ones. `exec` runs SQL on the connection the engine migrates on, which holds the
 * migration lock (PostgreSQL) or is the only one (PGlite). `migrations`: the committed ones (tests
 * pass fewer, to leave some for a server to apply).
 */
export async function applyMigrations(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  exec: (sql: string) => Promise<unknown>,
  migrations: MigrationList = listMigrations(),
): Promise<string[]> {
  await exec(RECOVER_INTERRUPTED);
  const engine = await openSchemaEngine(schemaPath, adapterFactory);
  try {
    const result = await engine.applyMigrations({ migrationsList: migrations, filters: noFilters });
    return result.appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/**
 * Writes prisma/migrations/<timestamp>_<name>/migration.sql with the difference between the
 * database behind `adapterFactory` and schema.prisma. The caller passes a scratch database that
 * has every committed migration applied (an in-memory PGlite), so the diff is exactly what the
 * committed history lacks.
 */
export async function createMigration(
  name: string,
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
): Promise<string | null> {
  const engine = await openSchemaEngine(schemaPath, adapterFactory);
  try {
    const files = [{ path: schemaPath, content: readFileSync(schemaPath, "utf8") }];
    const result = await engine.diff({
      from: { tag: "schemaDatasource", files, configDir: path.dirname(schemaPath) },
      to: { tag: "schemaDatamodel", files },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const script = result.stdout ?? "";
    if (!script.trim() || script.includes("This is an empty migration.")) return null;
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    const folder = `${stamp}_${name}`;
    mkdirSync(path.join(migrationsDir, folder), { recursive: true });
    writeFileSync(path.join(migrationsDir, folder, "migration.sql"), script);
    const lockPath = path.join(migrationsDir, "migration_lock.toml");
    if (!existsSync(lockPath)) writeFileSync(lockPath, 'provider = "postgresql"\n');
    return folder;
  } finally {
    engine.free();
  }
}
