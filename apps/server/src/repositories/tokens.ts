import type { SqlDriver } from "../db/database.js";
import type { Db } from "./types.js";

export interface NewToken {
  id: string;
  accountId: string;
  name?: string | null;
  tokenHash: string;
  prefix: string;
  scopes: string[];
  tokenScope?: string;
  agentId?: string | null;
  environmentId?: string | null;
  expiresAt?: Date | null;
}

/** What authentication needs of a token: read on every request, so one raw indexed lookup. */
export interface TokenCredentials {
  id: string;
  accountId: string;
  tokenHash: string;
  scopes: string[];
  agentId: string | null;
  status: string;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export const tokensRepository = {
  findByHash(db: Db, tokenHash: string) {
    return db.apiToken.findUnique({ where: { tokenHash } });
  },
  /** The token lookup of every request: plain SQL, without Prisma's per-query machinery, prepared. */
  async credentials(sql: SqlDriver, tokenHash: string): Promise<TokenCredentials | null> {
    const rows = await sql.query<TokenCredentials>(
      `SELECT id, account_id AS "accountId", token_hash AS "tokenHash", scopes, agent_id AS "agentId", status,
              expires_at AS "expiresAt", last_used_at AS "lastUsedAt"
       FROM api_tokens WHERE token_hash = $1`,
      [tokenHash],
      true,
    );
    return rows[0] ?? null;
  },
  create(db: Db, data: NewToken) {
    return db.apiToken.create({ data });
  },
  /** Makes sure the token is usable with exactly these scopes (operator-configured tokens). */
  activate(db: Db, id: string, scopes: string[]) {
    return db.apiToken.update({ where: { id }, data: { status: "active", scopes, expiresAt: null } });
  },
  touch(db: Db, id: string, now: Date) {
    return db.$executeRaw`UPDATE api_tokens SET last_used_at = ${now} WHERE id = ${id}`;
  },
  findById(db: Db, accountId: string, id: string) {
    return db.apiToken.findFirst({ where: { accountId, id } });
  },
  /** A page of the account's tokens, newest first. */
  listByAccount(db: Db, accountId: string, page: { offset: number; limit: number }) {
    return db.apiToken.findMany({
      where: { accountId },
      orderBy: [{ insertedAt: "desc" }, { id: "desc" }],
      skip: page.offset,
      take: page.limit,
    });
  },
  countByAccount(db: Db, accountId: string) {
    return db.apiToken.count({ where: { accountId } });
  },
  /** Null when the account has no such token. */
  async setStatus(db: Db, accountId: string, id: string, status: string) {
    const { count } = await db.apiToken.updateMany({ where: { accountId, id }, data: { status } });
    return count === 0 ? null : db.apiToken.findFirst({ where: { accountId, id } });
  },
  /** False when the account has no such token. */
  async delete(db: Db, accountId: string, id: string) {
    const { count } = await db.apiToken.deleteMany({ where: { accountId, id } });
    return count > 0;
  },
};
