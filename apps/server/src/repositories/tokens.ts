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

export const tokensRepository = {
  findByHash(db: Db, tokenHash: string) {
    return db.apiToken.findUnique({ where: { tokenHash } });
  },
  create(db: Db, data: NewToken) {
    return db.apiToken.create({ data });
  },
  /** Makes sure the token is usable with exactly these scopes (operator-configured tokens). */
  activate(db: Db, id: string, scopes: string[]) {
    return db.apiToken.update({ where: { id }, data: { status: "active", scopes, expiresAt: null } });
  },
  /** Records use at most once a minute per token, so authentication stays a read on the hot path. */
  touch(db: Db, id: string, now: Date) {
    return db.apiToken.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - 60_000) } }] },
      data: { lastUsedAt: now },
    });
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
