import { z } from "../zod.js";
import { TimestampSchema } from "../common/ids.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { IdempotencyKeySchema } from "./common.js";

export const ApiTokenSchema = z
  .object({
    type: z.literal("api_token"),
    id: z.string(),
    account_id: z.string(),
    name: z.string().nullable(),
    prefix: z.string().openapi({ description: "First characters of the secret, for recognising it" }),
    token_scope: z.enum(["account", "agent_deployment"]),
    scopes: z.array(z.string()),
    agent_id: z.string().nullable(),
    environment_id: z.string().nullable(),
    status: z.enum(["active", "suspended", "revoked"]),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("ApiToken");
export type ApiToken = z.infer<typeof ApiTokenSchema>;

export const ApiTokenCreateSchema = z
  .object({
    details: z
      .object({
        token_scope: z.enum(["account", "agent_deployment"]),
        agent_id: z.string().min(1).max(128).nullish(),
        environment_id: z.string().min(1).max(128).nullish(),
        expires_at: TimestampSchema.nullish(),
        name: z.string().max(255).nullish(),
      })
      .strict(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("ApiTokenCreate");

export const ApiTokenResponseSchema = detailsEnvelope(ApiTokenSchema, "ApiTokenResponse");
export const ApiTokenCreatedSchema = z
  .object({
    status: z.literal("success"),
    details: ApiTokenSchema,
    token: z.string().nullable().openapi({
      description:
        "The secret; shown once. null when this response replays the creation for a retry under the same idempotency_key: " +
        "the secret is never stored, so it cannot be shown again (see `notice`).",
    }),
    notice: z.string().optional().openapi({ description: "Present when `token` is null: why, and what to do (revoke this token, create another)" }),
  })
  .openapi("ApiTokenCreated");
export const ApiTokenListSchema = listEnvelope(ApiTokenSchema, "ApiTokenList");
