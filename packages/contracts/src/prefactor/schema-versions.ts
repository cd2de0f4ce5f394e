import { z } from "../zod.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { DescriptionSchema, ExternalIdentifierSchema, IdempotencyKeySchema, JsonObjectSchema } from "./common.js";

export const MAX_SPAN_TYPES = 200;
export const MAX_TEMPLATE_LENGTH = 10_000;

const SpanTypeNameSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters")
  // Span types are keyed by name in JSON objects (stored and answered), where this one is no key.
  .refine((name) => name !== "__proto__", "must not be __proto__");
const JsonSchemaSchema = JsonObjectSchema.openapi({ description: "A JSON Schema (draft-07 or 2020-12)" });

export const SpanTypeSchemaInputSchema = z
  .object({
    name: SpanTypeNameSchema,
    params_schema: JsonSchemaSchema,
    result_schema: JsonSchemaSchema.nullish(),
    title: z.string().max(255).nullish(),
    description: DescriptionSchema.nullish(),
    template: z.string().max(MAX_TEMPLATE_LENGTH, `must be at most ${MAX_TEMPLATE_LENGTH} characters`).nullish(),
  })
  .strict()
  .openapi("SpanTypeSchemaInput");

/** Both input shapes of seed 004: `span_type_schemas` wins; else the legacy maps are combined. */
export const SchemaVersionContentSchema = z.object({
  external_identifier: ExternalIdentifierSchema,
  span_type_schemas: z.array(SpanTypeSchemaInputSchema).max(MAX_SPAN_TYPES).nullish(),
  span_schemas: z.record(SpanTypeNameSchema, JsonSchemaSchema).nullish(),
  span_result_schemas: z.record(SpanTypeNameSchema, JsonSchemaSchema).nullish(),
});

export const SchemaValidationResultSchema = z
  .object({ status: z.enum(["success", "error"]), message: z.string().optional() })
  .openapi("SchemaValidationResult");

export const SpanTypeSchemaDetailsSchema = z
  .object({
    name: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    template: z.string().nullable(),
    params_schema: JsonObjectSchema,
    result_schema: JsonObjectSchema,
    params_schema_validation: SchemaValidationResultSchema,
    result_schema_validation: SchemaValidationResultSchema,
  })
  .openapi("SpanTypeSchemaDetails");
export type SpanTypeSchemaDetails = z.infer<typeof SpanTypeSchemaDetailsSchema>;

export const AgentSchemaVersionSchema = z
  .object({
    type: z.literal("agent_schema_version"),
    id: z.string(),
    account_id: z.string(),
    agent_id: z.string(),
    external_identifier: z.string(),
    current_version: z.boolean(),
    span_type_schemas: z.record(z.string(), SpanTypeSchemaDetailsSchema),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AgentSchemaVersion");
export type AgentSchemaVersion = z.infer<typeof AgentSchemaVersionSchema>;

export const AgentSchemaVersionCreateSchema = z
  .object({
    details: SchemaVersionContentSchema.extend({ agent_id: z.string().min(1).max(128) }).strict(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("AgentSchemaVersionCreate");

export const AgentSchemaVersionResponseSchema = detailsEnvelope(AgentSchemaVersionSchema, "AgentSchemaVersionResponse");
export const AgentSchemaVersionListSchema = listEnvelope(AgentSchemaVersionSchema, "AgentSchemaVersionList");
