import { Router, type Response } from "express";
import { AccountResponseSchema, AccountUpdateSchema, PingResponseSchema } from "@spyglass/contracts";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { requireScope } from "../../domain/accounts/service.js";
import { authOf } from "../../http/context.js";
import { prefactorErrorHandler, routeNotFound } from "../../http/errors.js";
import { ingress } from "../../http/ingress.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import { iso } from "../shared.js";
import { registerBulkRoutes } from "./bulk.js";
import { registerCatalogRoutes } from "./catalog.js";
import { registerModelPriceRoutes } from "./model-prices.js";
import { registerRunRoutes, registerSpanWriteRoutes } from "./runs.js";
import { registerTokenRoutes } from "./tokens.js";

function sendAccount(res: Response, account: { id: string; name: string; retentionDays: number | null; insertedAt: Date; updatedAt: Date }): void {
  respond(res, 200, AccountResponseSchema, {
    status: "success",
    details: {
      type: "account",
      id: account.id,
      name: account.name,
      retention_days: account.retentionDays,
      inserted_at: iso(account.insertedAt),
      updated_at: iso(account.updatedAt),
    },
  });
}

/** Everything under /api/v1 that is not AgentVista's speaks the Prefactor wire format. */
export function prefactorRouter(services: Services, config: Config): Router {
  const router = Router();
  registerSpanWriteRoutes(router, services, ingress(services, config, { recallToken: true }));
  router.use(ingress(services, config));

  router.get("/ping", (req, res) => {
    const auth = authOf(req);
    respond(res, 200, PingResponseSchema, {
      status: "success",
      details: { type: "api_token", id: auth.tokenId, account_id: auth.accountId, scopes: auth.scopes },
    });
  });

  registerModelPriceRoutes(router, services);

  router.get("/account", async (req, res) => {
    // A query like any other (only /ping answers every valid token: SDKs check their key with it).
    const auth = authOf(req);
    requireScope(auth, "read");
    sendAccount(res, await services.accounts.getAccount(auth.accountId));
  });
  router.patch("/account", async (req, res) => {
    // The scope first: a caller without it learns nothing from the body's validation.
    const auth = authOf(req);
    requireScope(auth, "admin");
    const { details } = parseInput(AccountUpdateSchema, req.body);
    sendAccount(res, await services.accounts.setRetention(auth, details.retention_days));
  });

  registerCatalogRoutes(router, services);
  registerRunRoutes(router, services);
  registerBulkRoutes(router, services);
  registerTokenRoutes(router, services);

  router.use(routeNotFound);
  router.use(prefactorErrorHandler);
  return router;
}
