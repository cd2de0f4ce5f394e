import pg from "pg";
import { DatabaseStartupError, openDatabase, type Database } from "./database.js";

/** A copy that did not happen, for one line on the operator's terminal. Nothing was written. */
export class CopyError extends Error {}

const PAGE_ROWS = 1_000;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Copies every table of `source` (the embedded database, stopped) into the PostgreSQL database at
 * `targetUrl`, migrated first to the same schema version, in one transaction: the target ends
 * with everything or, on any failure, as it was, so a failed copy is simply run again. A target
 * holding rows is refused unless `force`, which empties it first (in the same transaction). Row
 * counts are compared table by table before committing.
 */
export async function copyDatabase(source: Database, targetUrl: string, force: boolean): Promise<{ table: string; rows: number }[]> {
  // Brings an empty (or older) target to this version's schema, as the server would at start-up.
  try {
    await (await openDatabase({ DATABASE_URL: targetUrl, SPYGLASS_DATA_DIR: "unused", DB_POOL_SIZE: 1 }, { migrate: true })).close();
  } catch (error) {
    if (error instanceof DatabaseStartupError) throw new CopyError(error.message);
    throw error;
  }
  const target = new pg.Client({ connectionString: targetUrl, connectionTimeoutMillis: 10_000 });
  await target.connect().catch((error: unknown) => {
    throw new CopyError(`cannot connect to the target: ${(error as { code?: string }).code ?? ""} ${(error as Error).message}`.trim());
  });
  try {
    const migrations = async (query: (text: string) => Promise<{ name: string }[]>) =>
      (await query(`SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1`).catch(() => [])).map((m) => m.name).join(",");
    const mine = await migrations((text) => source.sql.query(text, []));
    const theirs = await migrations(async (text) => (await target.query<{ name: string }>(text)).rows);
    if (mine !== theirs) throw new CopyError("the target's schema version differs from the embedded database's: migrate it first (DATABASE_URL=<target> pnpm db:migrate), with the same Spyglass version");

    const tables = (await source.sql.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`, [])).map((t) => t.name);
    await target.query("BEGIN");
    try {
      const rowsIn = async (table: string) => Number((await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)).rows[0]!.n);
      let holdsData = false;
      for (const table of tables) holdsData ||= (await rowsIn(table)) > 0;
      if (holdsData) {
        if (!force) throw new CopyError("the target holds data already: pass --force to replace it");
        await target.query(`TRUNCATE ${tables.map(quote).join(", ")}`);
      }
      const copied: { table: string; rows: number }[] = [];
      for (const table of tables) {
        let rows = 0;
        for (;;) {
          const [page] = await source.sql.query<{ rows: string | null; n: number }>(
            `SELECT json_agg(t)::text AS rows, count(*)::int AS n FROM (SELECT * FROM ${quote(table)} ORDER BY ctid LIMIT $1 OFFSET $2) t`,
            [PAGE_ROWS, rows],
          );
          if (!page?.rows) break;
          await target.query(`INSERT INTO ${quote(table)} SELECT * FROM json_populate_recordset(NULL::${quote(table)}, $1::json)`, [page.rows]);
          rows += page.n;
          if (page.n < PAGE_ROWS) break;
        }
        const [{ n: sourceRows } = { n: 0 }] = await source.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quote(table)}`, []);
        const targetRows = await rowsIn(table);
        if (sourceRows !== rows || targetRows !== rows) throw new CopyError(`${table}: ${sourceRows} rows in the embedded database, ${targetRows} copied: nothing was committed`);
        copied.push({ table, rows });
      }
      await target.query("COMMIT");
      return copied;
    } catch (error) {
      await target.query("ROLLBACK").catch(() => {});
      throw error;
    }
  } finally {
    await target.end().catch(() => {});
  }
}
