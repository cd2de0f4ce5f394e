import { z } from "../zod.js";
import { detailsEnvelope } from "../common/pagination.js";

// The model price table (shipped with the server, versioned) and an account's overrides of it.
// Prices are USD per million tokens, as decimal strings.

const PerMillionSchema = z
  .string()
  .regex(/^\d{1,8}(\.\d{1,6})?$/, "must be a non-negative decimal such as \"2.50\" (USD per million tokens)")
  .openapi({ example: "2.50" });

export const ModelPriceSchema = z
  .object({
    model_pattern: z.string().openapi({ description: "A model name, or a pattern with * for any run of characters; case-insensitive" }),
    provider: z.string().nullable(),
    input_per_million: z.string(),
    output_per_million: z.string(),
    cached_input_per_million: z.string().nullable().openapi({ description: "Input tokens read from a prompt cache; null = billed as input" }),
    effective_from: z.string().openapi({ description: "UTC day (YYYY-MM-DD) from which this price applies" }),
  })
  .openapi("ModelPrice");
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

export const ModelPriceOverrideSchema = ModelPriceSchema.extend({ type: z.literal("model_price"), id: z.string() }).openapi("ModelPriceOverride");

export const ModelPriceTableSchema = z
  .object({
    version: z.string().openapi({ description: "Version of the table shipped with the server" }),
    prices: z.array(ModelPriceSchema).openapi({ description: "The shipped table" }),
    overrides: z.array(ModelPriceOverrideSchema).openapi({ description: "The account's own prices; they win over the shipped ones" }),
  })
  .openapi("ModelPriceTable");

export const ModelPriceTableResponseSchema = detailsEnvelope(ModelPriceTableSchema, "ModelPriceTableResponse");

export const ModelPriceOverrideCreateSchema = z
  .object({
    details: z
      .object({
        model_pattern: z.string().trim().min(1).max(255),
        provider: z.string().max(64).nullish(),
        input_per_million: PerMillionSchema,
        output_per_million: PerMillionSchema,
        cached_input_per_million: PerMillionSchema.nullish(),
        effective_from: z.iso.date("must be a date (YYYY-MM-DD)").optional().openapi({ description: "Default 1970-01-01: every span" }),
      })
      .strict(),
  })
  .strict()
  .openapi("ModelPriceOverrideCreate");

export const ModelPriceOverrideResponseSchema = detailsEnvelope(ModelPriceOverrideSchema, "ModelPriceOverrideResponse");

export const ModelPriceIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const ModelPriceDeletedResponseSchema = detailsEnvelope(
  z.object({ type: z.literal("model_price"), id: z.string(), deleted: z.literal(true) }).openapi("ModelPriceDeleted"),
  "ModelPriceDeletedResponse",
);
