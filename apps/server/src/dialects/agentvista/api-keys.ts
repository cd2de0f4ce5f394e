import type { Router } from "express";
import {
  AvApiKeyCreatedSchema,
  AvApiKeyCreateSchema,
  AvApiKeyIdParamsSchema,
  AvApiKeyListQuerySchema,
  AvApiKeyListResponseSchema,
  AvApiKeyPingSchema,
  AvApiKeyRevokedSchema,
} from "@spyglass/contracts";
import { requireScope } from "../../domain/accounts/service.js";
import { authOf } from "../../http/context.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import type { Services } from "../../services.js";
import { presentApiKey } from "./present.js";

const DEFAULT_PAGE_SIZE = 20;

export function registerApiKeyRoutes(av: Router, services: Services): void {
  // The spec gives ping to the read scope (write is ingestion only); a write-only key gets 403.
  av.get("/me/api-keys/ping", (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    respond(res, 200, AvApiKeyPingSchema, { status: "ok", scopes: auth.scopes });
  });

  av.post("/me/api-keys", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "admin");
    const body = parseInput(AvApiKeyCreateSchema, req.body);
    const { token, secret } = await services.accounts.issueToken({
      secretPrefix: "av_",
      accountId: auth.accountId,
      name: body.name || null,
      scopes: [...new Set(body.scopes)],
    });
    respond(res, 201, AvApiKeyCreatedSchema, { ...presentApiKey(token), key: secret });
  });

  av.get("/me/api-keys", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "admin");
    const q = parseInput(AvApiKeyListQuerySchema, req.query, "query");
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? DEFAULT_PAGE_SIZE;
    const { items, total } = await services.tokens.list(auth, { offset: (page - 1) * pageSize, limit: pageSize });
    respond(res, 200, AvApiKeyListResponseSchema, {
      results: items.map(presentApiKey),
      total,
      page,
      page_size: pageSize,
      has_next: page * pageSize < total,
    });
  });

  av.delete("/me/api-keys/:id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "admin");
    const { id } = parseInput(AvApiKeyIdParamsSchema, req.params);
    const token = await services.tokens.setStatus(auth, id, "revoked");
    respond(res, 200, AvApiKeyRevokedSchema, { id: token.id, is_active: false });
  });
}
