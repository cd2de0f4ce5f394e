import type { Router } from "express";
import {
  ModelPriceDeletedResponseSchema,
  ModelPriceIdParamsSchema,
  ModelPriceOverrideCreateSchema,
  ModelPriceOverrideResponseSchema,
  ModelPriceTableResponseSchema,
  type ModelPrice,
} from "@spyglass/contracts";
import { requireScope } from "../../domain/accounts/service.js";
import type { PriceOverride } from "../../domain/prices/service.js";
import { PRICE_TABLE, PRICE_TABLE_VERSION, type ModelPrice as TablePrice } from "../../domain/prices/table.js";
import { authOf } from "../../http/context.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import type { Services } from "../../services.js";

const present = (p: TablePrice): ModelPrice => ({
  model_pattern: p.pattern,
  provider: p.provider,
  input_per_million: p.inputPerMillion,
  output_per_million: p.outputPerMillion,
  cached_input_per_million: p.cachedInputPerMillion,
  effective_from: p.effectiveFrom,
});

const presentOverride = (p: PriceOverride) => ({ type: "model_price" as const, id: p.id, ...present(p) });

export function registerModelPriceRoutes(router: Router, services: Services): void {
  router.get("/model_prices", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const overrides = await services.prices.listOverrides(auth);
    respond(res, 200, ModelPriceTableResponseSchema, {
      status: "success",
      details: { version: PRICE_TABLE_VERSION, prices: PRICE_TABLE.map(present), overrides: overrides.map(presentOverride) },
    });
  });

  router.post("/model_prices", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "admin");
    const { details: d } = parseInput(ModelPriceOverrideCreateSchema, req.body);
    const created = await services.prices.createOverride(auth, {
      pattern: d.model_pattern,
      provider: d.provider ?? null,
      inputPerMillion: d.input_per_million,
      outputPerMillion: d.output_per_million,
      cachedInputPerMillion: d.cached_input_per_million ?? null,
      effectiveFrom: d.effective_from ?? "1970-01-01",
    });
    respond(res, 201, ModelPriceOverrideResponseSchema, { status: "success", details: presentOverride(created) });
  });

  router.delete("/model_prices/:id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "admin");
    const { id } = parseInput(ModelPriceIdParamsSchema, req.params, "path");
    await services.prices.deleteOverride(auth, id);
    respond(res, 200, ModelPriceDeletedResponseSchema, { status: "success", details: { type: "model_price", id, deleted: true } });
  });
}
