import type { Router } from "express";
import {
  ActionBodySchema,
  ApiTokenCreatedSchema,
  ApiTokenCreateSchema,
  ApiTokenListSchema,
  ApiTokenResponseSchema,
  DeletedResponseSchema,
  IdParamSchema,
  type ApiToken,
} from "@spyglass/contracts";
import { requireScope, type AuthContext } from "../../domain/accounts/service.js";
import { ALL_SCOPES } from "../../domain/accounts/tokens.js";
import { AppError, invalidAction } from "../../domain/shared/app-error.js";
import { instantOf } from "../../domain/shared/time.js";
import type { Transaction } from "../../domain/shared/transaction.js";
import type { Services } from "../../services.js";
import { authOf } from "../../http/context.js";
import { paginationOf, parseList } from "../../http/list.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import { iso } from "../shared.js";
import { ok, okReplayedAs, sendWrite } from "./write.js";

type TokenRow = Awaited<ReturnType<Services["tokens"]["get"]>>;

function toToken(t: TokenRow): ApiToken {
  return {
    type: "api_token",
    id: t.id,
    account_id: t.accountId,
    name: t.name,
    prefix: t.prefix,
    token_scope: t.tokenScope === "agent_deployment" ? "agent_deployment" : "account",
    scopes: t.scopes,
    agent_id: t.agentId,
    environment_id: t.environmentId,
    status: t.status as ApiToken["status"],
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
    inserted_at: iso(t.insertedAt),
    updated_at: iso(t.updatedAt),
  };
}

const SECRET_NOT_REPLAYED =
  "this replays the token's creation (same idempotency_key): its secret was shown once and is not stored, so it cannot be shown again; " +
  "if the first response was lost, revoke this token and create another";

/** Which status each action may start from. */
const TRANSITIONS = {
  suspend: { from: ["active"], to: "suspended" },
  activate: { from: ["suspended"], to: "active" },
  revoke: { from: ["active", "suspended"], to: "revoked" },
} as const;

export function registerTokenRoutes(router: Router, services: Services): void {
  const idOf = (params: Record<string, string | string[]>) => parseInput(IdParamSchema, params.id, "id");
  const admin = (auth: AuthContext) => {
    requireScope(auth, "admin");
    return auth;
  };

  router.get("/api_token", async (req, res) => {
    const auth = admin(authOf(req));
    const { page, sorting } = parseList(req, ["inserted_at"], { field: "inserted_at", direction: "desc" });
    const { items, total } = await services.tokens.list(auth, { offset: page.offset, limit: page.pageSize });
    respond(res, 200, ApiTokenListSchema, { status: "success", summaries: items.map(toToken), pagination: paginationOf(page, total, items.length), sorting });
  });

  router.get("/api_token/:id", async (req, res) => {
    const auth = admin(authOf(req));
    respond(res, 200, ApiTokenResponseSchema, { status: "success", details: toToken(await services.tokens.get(auth, idOf(req.params))) });
  });

  router.post("/api_token", async (req, res) => {
    const { details, idempotency_key } = parseInput(ApiTokenCreateSchema, req.body);
    await sendWrite(services, req, res, idempotency_key, "admin", async (auth, tx: Transaction) => {
      const deployment = details.token_scope === "agent_deployment";
      if (deployment && !details.agent_id) {
        throw new AppError("required_value", "details.agent_id: is required for an agent_deployment token", {
          fields: [{ path: "details.agent_id", message: "is required for an agent_deployment token", code: "required_value" }],
        });
      }
      if (details.agent_id) await services.catalog.getAgent(auth, details.agent_id, tx);
      if (details.environment_id) await services.catalog.getEnvironment(auth, details.environment_id, tx);
      const expiresAt = details.expires_at ? instantOf(details.expires_at, "details.expires_at") : null;
      if (expiresAt && expiresAt <= new Date()) {
        throw new AppError("invalid_value", "details.expires_at: must be in the future", { fields: [{ path: "details.expires_at", message: "must be in the future" }] });
      }
      const { token, secret } = await services.accounts.issueToken(
        {
          accountId: auth.accountId,
          name: details.name ?? null,
          // An account token can do what its creator (an admin) can; a deployment token only
          // reports and reads runs of its agent.
          scopes: deployment ? ["read", "write"] : [...ALL_SCOPES],
          tokenScope: details.token_scope,
          agentId: details.agent_id ?? null,
          environmentId: details.environment_id ?? null,
          expiresAt,
          secretPrefix: "sg_",
        },
        tx,
      );
      const created = { status: "success" as const, details: toToken(token) };
      // Only the secret's hash is stored: the idempotency record keeps the response without it.
      return okReplayedAs(ApiTokenCreatedSchema, { ...created, token: secret }, { ...created, token: null, notice: SECRET_NOT_REPLAYED });
    });
  });

  for (const [action, rule] of Object.entries(TRANSITIONS)) {
    router.post(`/api_token/:id/${action}`, async (req, res) => {
      const body = parseInput(ActionBodySchema, req.body ?? {});
      await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx: Transaction) => {
        const token = await services.tokens.get(auth, idOf(req.params), tx);
        if (!(rule.from as readonly string[]).includes(token.status)) throw invalidAction(`cannot ${action} a token that is ${token.status}`);
        return ok(ApiTokenResponseSchema, { status: "success", details: toToken(await services.tokens.setStatus(auth, token.id, rule.to, tx)) });
      });
    });
  }

  router.delete("/api_token/:id", async (req, res) => {
    const body = parseInput(ActionBodySchema, req.body ?? {});
    const id = idOf(req.params);
    await sendWrite(services, req, res, body.idempotency_key, "admin", async (auth, tx: Transaction) => {
      const token = await services.tokens.get(auth, id, tx);
      if (token.status !== "revoked") throw invalidAction("only a revoked token can be deleted; revoke it first");
      await services.tokens.delete(auth, id, tx);
      return ok(DeletedResponseSchema, { status: "success", details: { id, deleted: true } });
    });
  });
}
