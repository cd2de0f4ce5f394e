import { z } from "../zod.js";
import { IdempotencyKeySchema } from "./common.js";

export const PfidGenerateSchema = z
  .object({ count: z.number().int().min(1).max(100).optional(), idempotency_key: IdempotencyKeySchema.optional() })
  .strict()
  .openapi("PfidGenerate");

export const PfidGenerateResponseSchema = z
  .object({ status: z.literal("success"), details: z.object({ pfids: z.array(z.string()) }) })
  .openapi("PfidGenerateResponse");

export const DeletedResponseSchema = z
  .object({ status: z.literal("success"), details: z.object({ id: z.string(), deleted: z.literal(true) }) })
  .openapi("DeletedResponse");
