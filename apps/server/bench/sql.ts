// One SQL connection, over `pg` (PostgreSQL) or an embedded PGlite opened on the server's data
// directory (only while the server is stopped: PGlite allows one process at a time).
import pg from "pg";

export interface SqlConn {
  kind: "postgresql" | "pglite";
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

// Keep BIGINT / NUMERIC as strings and timestamps as text: the floors should pay for the same
// decoding a server pays, not less; and the loader reads nothing back that needs parsing.
export async function connectPg(connectionString: string): Promise<SqlConn> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return {
    kind: "postgresql",
    async query<T>(text: string, params?: unknown[]) {
      const result = await client.query(text, params as unknown[]);
      return result.rows as T[];
    },
    close: () => client.end(),
  };
}

export async function openPglite(dataDir: string): Promise<SqlConn> {
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(dataDir);
  return {
    kind: "pglite",
    async query<T>(text: string, params?: unknown[]) {
      const result = await db.query<T>(text, params);
      return result.rows;
    },
    close: () => db.close(),
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(baseUrl: string, name: string): Promise<void> {
  const conn = await connectPg(baseUrl);
  try {
    await conn.query(`CREATE DATABASE "${name}"`);
  } finally {
    await conn.close();
  }
}

export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  const conn = await connectPg(baseUrl);
  try {
    await conn.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await conn.close();
  }
}

export async function serverVersion(conn: SqlConn): Promise<string> {
  const rows = await conn.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  return rows[0]?.v ?? "?";
}
