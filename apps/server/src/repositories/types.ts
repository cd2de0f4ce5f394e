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
