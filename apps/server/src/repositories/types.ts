import type { SqlDriver } from "../db/database.js";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";

/** A Prisma client or an interactive transaction: repositories accept either. */
export type Db = PrismaClient | Prisma.TransactionClient;

/**
 * Runs a query built with Prisma.sql on the plain driver (hot reads: Prisma's per-query machinery
 * costs more than these queries themselves). Same SQL, same parameters.
 */
export function runSql<T>(sql: SqlDriver, query: Prisma.Sql, options: { prepared?: boolean } = {}): Promise<T[]> {
  return sql.query<T>(query.text, query.values, options.prepared);
}

/**
 * Find-or-create that stays correct when two requests race: read; when missing, insert with
 * `ON CONFLICT DO NOTHING` (or skipDuplicates) and read again. Reading first spares the insert in
 * the common case, where the row exists (every run registers a version that exists for all but
 * its first).
 */
export async function findOrInsert<T>(find: () => Promise<T | null>, insert: () => Promise<unknown>, what: string): Promise<T> {
  const existing = await find();
  if (existing) return existing;
  await insert();
  const created = await find();
  if (!created) throw new Error(`${what} vanished after its insert`);
  return created;
}
