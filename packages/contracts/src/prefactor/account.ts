import { z } from "../zod.js";

export const AccountSchema = z
  .object({
    type: z.literal("account"),
    id: z.string(),
    name: z.string(),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Account");
export type Account = z.infer<typeof AccountSchema>;

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
