import { z } from "../zod.js";
import { AvPageQuerySchema, avPage } from "./pagination.js";

export const AvApiKeyScopeSchema = z.enum(["read", "write"]).openapi("AvApiKeyScope");

export const AvApiKeyCreateSchema = z
  .object({
    name: z.string().trim().max(255).nullish(),
    scopes: z.array(AvApiKeyScopeSchema).min(1).max(2),
  })
  .openapi("AvApiKeyCreate");

export const AvApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.string()),
    prefix: z.string().openapi({ example: "av_a1b2c3d4", description: "The first 11 characters of the key" }),
    is_active: z.boolean(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi("AvApiKey");
export type AvApiKey = z.infer<typeof AvApiKeySchema>;

export const AvApiKeyCreatedSchema = AvApiKeySchema.extend({
  key: z.string().openapi({ description: "The full secret: shown here once, only its hash is stored" }),
}).openapi("AvApiKeyCreated");

export const AvApiKeyListQuerySchema = AvPageQuerySchema;
export const AvApiKeyListResponseSchema = avPage(AvApiKeySchema).openapi("AvApiKeyList");

export const AvApiKeyIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const AvApiKeyRevokedSchema = z
  .object({ id: z.string(), is_active: z.literal(false) })
  .openapi("AvApiKeyRevoked");

export const AvApiKeyPingSchema = z
  .object({ status: z.literal("ok"), scopes: z.array(z.string()) })
  .openapi("AvApiKeyPing");
