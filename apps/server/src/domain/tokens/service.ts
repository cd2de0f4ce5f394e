import type { Prisma } from "../../db/database.js";
import { tokensRepository } from "../../repositories/tokens.js";
import type { Db } from "../../repositories/types.js";
import type { AuthContext } from "../accounts/service.js";
import { notFound } from "../shared/app-error.js";

export const TOKEN_STATUSES = ["active", "suspended", "revoked"] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];

type Token = NonNullable<Awaited<ReturnType<typeof tokensRepository.findById>>>;

/** Whether a token would authenticate now (the rule AccountsService.authenticate applies). */
export function isUsable(token: Pick<Token, "status" | "expiresAt">, now = new Date()): boolean {
  return token.status === "active" && (!token.expiresAt || token.expiresAt > now);
}

/**
 * The caller's account's API tokens (Prefactor api_token and AgentVista av_ keys are rows of one
 * table). Minting stays in AccountsService.issueToken; this is listing and life cycle. Transition
 * rules of a dialect (which status may follow which) belong to its caller.
 */
export class TokensService {
  constructor(private readonly prisma: Prisma) {}

  async list(auth: AuthContext, page: { offset: number; limit: number }, db: Db = this.prisma) {
    const [items, total] = await Promise.all([
      tokensRepository.listByAccount(db, auth.accountId, page),
      tokensRepository.countByAccount(db, auth.accountId),
    ]);
    return { items, total };
  }

  async get(auth: AuthContext, id: string, db: Db = this.prisma): Promise<Token> {
    const token = await tokensRepository.findById(db, auth.accountId, id);
    if (!token) throw notFound("api token");
    return token;
  }

  /** Takes effect on the next request: authentication reads the status every time. */
  async setStatus(auth: AuthContext, id: string, status: TokenStatus, db: Db = this.prisma): Promise<Token> {
    const token = await tokensRepository.setStatus(db, auth.accountId, id, status);
    if (!token) throw notFound("api token");
    return token;
  }

  async delete(auth: AuthContext, id: string, db: Db = this.prisma): Promise<void> {
    if (!(await tokensRepository.delete(db, auth.accountId, id))) throw notFound("api token");
  }
}
