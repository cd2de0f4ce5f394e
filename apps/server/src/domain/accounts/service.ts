import type { Prisma, SqlDriver } from "../../db/database.js";
import { accountsRepository } from "../../repositories/accounts.js";
import { tokensRepository, type NewToken } from "../../repositories/tokens.js";
import type { Db } from "../../repositories/types.js";
import { AppError } from "../shared/app-error.js";
import { generatePfid, randomPartition } from "../shared/pfid.js";
import { ALL_SCOPES, displayPrefix, hashSecret, newSecret, sameHash, type Scope } from "./tokens.js";

export interface AuthContext {
  accountId: string;
  partition: number;
  tokenId: string;
  scopes: Scope[];
  /** Set for agent_deployment tokens: writes are limited to this agent. */
  agentId: string | null;
  /**
   * Set when this request's token was recalled from an earlier request instead of read (see
   * AccountsService.recall): its state is then checked by the request's own write statement
   * (tokenGuardSql), and anything done before or instead of such a statement must await this first.
   * Rejects with 401 when the token is no longer usable; else resolves to the token as it is now.
   */
  check?: () => Promise<AuthContext>;
}

/** A credential as the last full authentication of its secret found it. */
interface Recalled {
  auth: AuthContext;
  expiresAt: number | null;
  touchedAt: number;
}

/** How many secrets' credentials are kept for recall (each a few hundred bytes). */
const RECALL_LIMIT = 10_000;

export interface BootstrapResult {
  accountId: string;
  createdAccount: boolean;
  /** A freshly generated admin secret, to be shown once; null when none was generated. */
  generatedAdminToken: string | null;
}

export class AccountsService {
  constructor(
    private readonly prisma: Prisma,
    /** For the token lookup on every request (see SqlDriver). */
    private readonly sql: SqlDriver,
  ) {}

  /**
   * First start: create the default account (with its default environment). When `adminToken` is
   * given, make sure a token with exactly that secret exists for it; otherwise, on first start
   * only, generate one and hand it back to be printed once.
   */
  async bootstrap(adminToken: string | undefined): Promise<BootstrapResult> {
    return this.prisma.$transaction(async (tx) => {
      // One bootstrap at a time, even with several replicas starting together.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(715517)`;
      let account = await accountsRepository.first(tx);
      const createdAccount = !account;
      if (!account) {
        const partition = randomPartition();
        account = await accountsRepository.create(tx, { id: generatePfid(partition), name: "default", pfidPartition: partition });
        await accountsRepository.createEnvironment(tx, {
          id: generatePfid(partition),
          accountId: account.id,
          name: "default",
          isDefault: true,
        });
      }
      let generatedAdminToken: string | null = null;
      if (adminToken) {
        const existing = await tokensRepository.findByHash(tx, hashSecret(adminToken));
        if (existing && existing.accountId === account.id) {
          await tokensRepository.activate(tx, existing.id, [...ALL_SCOPES]);
        } else if (!existing) {
          await this.createToken(tx, account.id, account.pfidPartition, adminToken, "admin (SPYGLASS_ADMIN_TOKEN)");
        }
      } else if (createdAccount) {
        generatedAdminToken = newSecret("sg_");
        await this.createToken(tx, account.id, account.pfidPartition, generatedAdminToken, "admin (generated at first start)");
      }
      return { accountId: account.id, createdAccount, generatedAdminToken };
    });
  }

  /** A new tenant with its default environment and an all-scopes admin token (operator CLI, tests). */
  async createAccount(name: string): Promise<{ accountId: string; adminToken: string }> {
    return this.prisma.$transaction(async (tx) => {
      const partition = randomPartition();
      const account = await accountsRepository.create(tx, { id: generatePfid(partition), name, pfidPartition: partition });
      await accountsRepository.createEnvironment(tx, { id: generatePfid(partition), accountId: account.id, name: "default", isDefault: true });
      const adminToken = newSecret("sg_");
      await this.createToken(tx, account.id, partition, adminToken, "admin");
      return { accountId: account.id, adminToken };
    });
  }

  private createToken(tx: Db, accountId: string, partition: number, secret: string, name: string) {
    return tokensRepository.create(tx, {
      id: generatePfid(partition),
      accountId,
      name,
      tokenHash: hashSecret(secret),
      prefix: displayPrefix(secret),
      scopes: [...ALL_SCOPES],
    });
  }

  /** Mints a new token; the secret is returned here and never again (only its hash is kept). */
  async issueToken(
    input: Omit<NewToken, "id" | "tokenHash" | "prefix"> & { secretPrefix: "av_" | "sg_" },
    db: Db = this.prisma,
  ) {
    const { secretPrefix, ...fields } = input;
    const secret = newSecret(secretPrefix);
    const token = await tokensRepository.create(db, {
      ...fields,
      id: generatePfid(await this.partitionOf(input.accountId)),
      tokenHash: hashSecret(secret),
      prefix: displayPrefix(secret),
    });
    return { token, secret };
  }

  /** Resolves a bearer secret to its account, or throws not_authenticated / bad_authtoken. */
  async authenticate(secret: string | undefined, now = new Date()): Promise<AuthContext> {
    if (secret === undefined) throw new AppError("not_authenticated", "missing bearer token: send Authorization: Bearer <token>");
    const hash = hashSecret(secret);
    const token = await tokensRepository.credentials(this.sql, hash);
    if (!token || !sameHash(token.tokenHash, hash)) throw new AppError("bad_authtoken", "invalid token");
    if (token.status !== "active") throw new AppError("bad_authtoken", `token is ${token.status}`);
    if (token.expiresAt && token.expiresAt <= now) throw new AppError("bad_authtoken", "token has expired");
    const partition = await this.partitionOf(token.accountId);
    // last_used_at is kept to the minute, so authentication stays a single read on the hot path.
    let touchedAt = token.lastUsedAt?.getTime() ?? 0;
    if (now.getTime() - touchedAt > 60_000) {
      touchedAt = now.getTime();
      void tokensRepository.touch(this.prisma, token.id, now).catch(() => {});
    }
    const auth: AuthContext = {
      accountId: token.accountId,
      partition,
      tokenId: token.id,
      scopes: token.scopes.filter((s): s is Scope => (ALL_SCOPES as readonly string[]).includes(s)),
      agentId: token.agentId,
    };
    this.recalled.delete(hash);
    this.recalled.set(hash, { auth, expiresAt: token.expiresAt?.getTime() ?? null, touchedAt });
    if (this.recalled.size > RECALL_LIMIT) this.recalled.delete(this.recalled.keys().next().value!);
    return auth;
  }

  /** Credentials of recently authenticated secrets, by hash (insertion order = eviction order). */
  private readonly recalled = new Map<string, Recalled>();

  /**
   * The credential an earlier request of this process authenticated with the same secret, without
   * reading the token row: for the per-span write routes, whose single statement checks the token's
   * state itself (tokenGuardSql), so a suspended, revoked or expired token still fails on its very
   * next request. The context's `check()` reads the row, for whatever such a route does outside
   * that statement. Null when the secret is not recalled or has expired by this clock.
   */
  recall(secret: string | undefined, now = new Date()): AuthContext | null {
    if (!secret) return null;
    const hash = hashSecret(secret);
    const entry = this.recalled.get(hash);
    if (!entry || (entry.expiresAt !== null && entry.expiresAt <= now.getTime())) return null;
    if (now.getTime() - entry.touchedAt > 60_000) {
      entry.touchedAt = now.getTime();
      void tokensRepository.touch(this.prisma, entry.auth.tokenId, now).catch(() => {});
    }
    return { ...entry.auth, check: () => this.authenticate(secret) };
  }

  // An account's PFID partition never changes, so it is safe to keep in memory on every replica.
  private readonly partitions = new Map<string, number>();

  private async partitionOf(accountId: string): Promise<number> {
    const cached = this.partitions.get(accountId);
    if (cached !== undefined) return cached;
    const account = await accountsRepository.findById(this.prisma, accountId);
    if (!account) throw new AppError("bad_authtoken", "invalid token");
    this.partitions.set(accountId, account.pfidPartition);
    return account.pfidPartition;
  }

  async getAccount(accountId: string) {
    const account = await accountsRepository.findById(this.prisma, accountId);
    if (!account) throw new AppError("not_found", "account not found");
    return account;
  }

  /** Sets the account's retention override (null: the server's RETENTION_DAYS). Admin scope. */
  async setRetention(auth: AuthContext, retentionDays: number | null) {
    requireScope(auth, "admin");
    await this.getAccount(auth.accountId);
    return accountsRepository.setRetention(this.prisma, auth.accountId, retentionDays);
  }
}

export function requireScope(auth: AuthContext, scope: Scope): void {
  if (!auth.scopes.includes(scope)) {
    throw new AppError("not_permitted", `this token lacks the '${scope}' scope`);
  }
}
