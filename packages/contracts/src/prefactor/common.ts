import { z } from "../zod.js";

export const IdempotencyKeySchema = z
  .string()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .openapi("IdempotencyKey", { description: "Same key + same request replays the first response; 1..64 chars" });

/** Money as an exact decimal string with 6 places, e.g. "0.004500". */
export const MoneySchema = z.string().regex(/^-?\d+\.\d{6}$/).openapi("Money", { example: "0.004500" });

/**
 * Any JSON object, passed through as is. Deliberately not z.record: rebuilding the object by
 * assignment would turn a client's own "__proto__" key into a prototype change and drop it.
 */
export const JsonObjectSchema = z
  .custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
    message: "must be a JSON object",
  })
  .openapi("JsonObject", { type: "object", additionalProperties: {} });

export const NameSchema = z.string().trim().min(1, "must not be empty").max(255, "must be at most 255 characters");
export const DescriptionSchema = z.string().max(10_000, "must be at most 10000 characters");
export const ExternalIdentifierSchema = z.string().trim().min(1, "must not be empty").max(255, "must be at most 255 characters");
