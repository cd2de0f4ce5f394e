import { z } from "../zod.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { IdempotencyKeySchema, NameSchema } from "./common.js";

export const EnvironmentSchema = z
  .object({
    type: z.literal("environment"),
    id: z.string(),
    account_id: z.string(),
    name: z.string(),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Environment");
export type Environment = z.infer<typeof EnvironmentSchema>;

export const EnvironmentWriteSchema = z
  .object({ details: z.object({ name: NameSchema }).strict(), idempotency_key: IdempotencyKeySchema.optional() })
  .strict()
  .openapi("EnvironmentWrite");

export const EnvironmentResponseSchema = detailsEnvelope(EnvironmentSchema, "EnvironmentResponse");
export const EnvironmentListSchema = listEnvelope(EnvironmentSchema, "EnvironmentList");
