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

/** Applies every committed migration not yet recorded in `_prisma_migrations`. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const engine = await openSchemaEngine(schemaPath, adapterFactory);
  try {
    const result = await engine.applyMigrations({ migrationsList: listMigrations(), filters: noFilters });
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
