import { z } from "../zod.js";

export const AccountSchema = z
  .object({
    type: z.literal("account"),
    id: z.string(),
    name: z.string(),
    retention_days: z.number().int().nullable().openapi({
      description: "Days this account's runs are kept after they end (and were last active), overriding the server's RETENTION_DAYS; null follows the server's setting",
    }),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Account");
export type Account = z.infer<typeof AccountSchema>;

export const AccountUpdateSchema = z
  .object({
    details: z
      .object({
        retention_days: z.number().int().min(1).max(36_500).nullable().openapi({
          description: "Days runs are kept after they end; null: follow the server's RETENTION_DAYS",
        }),
      })
      .strict(),
  })
  .openapi("AccountUpdate");
export type AccountUpdate = z.infer<typeof AccountUpdateSchema>;

export const PingDetailsSchema = z
  .object({
    type: z.literal("api_token"),
    id: z.string(),
    account_id: z.string(),
    scopes: z.array(z.string()),
  })
  .openapi("PingDetails");

export const PingResponseSchema = z
  .object({ status: z.literal("success"), details: PingDetailsSchema })
  .openapi("PingResponse");
export type PingResponse = z.infer<typeof PingResponseSchema>;

export const AccountResponseSchema = z
  .object({ status: z.literal("success"), details: AccountSchema })
  .openapi("AccountResponse");
