import { z } from "../zod.js";

export const IdempotencyKeySchema = z
  .string()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .openapi("IdempotencyKey", { description: "Same key + same request replays the first response; 1..64 chars" });

/** Money as an exact decimal string with 6 places, e.g. "0.004500". */
export const MoneySchema = z.string().regex(/^-?\d+\.\d{6}$/).openapi("Money", { example: "0.004500" });

export const JsonObjectSchema = z.record(z.string(), z.unknown()).openapi("JsonObject");

export const NameSchema = z.string().trim().min(1, "must not be empty").max(255, "must be at most 255 characters");
export const DescriptionSchema = z.string().max(10_000, "must be at most 10000 characters");
export const ExternalIdentifierSchema = z.string().trim().min(1, "must not be empty").max(255, "must be at most 255 characters");
