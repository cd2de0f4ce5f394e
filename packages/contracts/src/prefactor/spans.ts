import { z } from "../zod.js";
import { PfidSchema, TimestampSchema } from "../common/ids.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { IdempotencyKeySchema, JsonObjectSchema } from "./common.js";

export const SpanStatusSchema = z.enum(["pending", "active", "complete", "failed", "cancelled"]).openapi("SpanStatus");

export const PayloadValidationSchema = z
  .object({
    status: z.enum(["valid", "invalid", "unchecked"]),
    errors: z.array(z.object({ path: z.string(), message: z.string(), target: z.enum(["payload", "result_payload", "schema"]) })),
  })
  .openapi("PayloadValidation");
export type PayloadValidation = z.infer<typeof PayloadValidationSchema>;

export const AgentSpanSchema = z
  .object({
    type: z.literal("agent_span"),
    id: z.string(),
    account_id: z.string(),
    agent_id: z.string(),
    agent_instance_id: z.string(),
    parent_span_id: z.string().nullable(),
    schema_name: z.string(),
    schema_title: z.string(),
    status: SpanStatusSchema,
    payload: JsonObjectSchema,
    result_payload: JsonObjectSchema.nullable().optional().openapi({ description: "Only present once the span is finished" }),
    summary: z.string().nullable().optional().openapi({ description: "Rendered from the span type's template; on lists only with include_summaries=true" }),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    payload_validation: PayloadValidationSchema,
    model: z.string().nullable().optional().openapi({ description: "Read from the payloads (`model`), or as reported through another dialect; present when known" }),
    input_tokens: z.number().int().nullable().optional().openapi({ description: "From `token_usage.prompt_tokens` or `usage.input_tokens`; present when known" }),
    output_tokens: z.number().int().nullable().optional(),
    total_tokens: z.number().int().nullable().optional(),
    cost_usd: z.string().regex(/^-?\d+\.\d{6}$/).nullable().optional().openapi({ description: "USD, 6 decimal places; present when known" }),
    cost_computed: z.boolean().optional().openapi({ description: "cost_usd was computed from the model price table (no cost was reported)" }),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AgentSpan");
export type AgentSpan = z.infer<typeof AgentSpanSchema>;

export const AgentSpanCreateDetailsSchema = z
  .object({
    agent_instance_id: z.string().min(1).max(128),
    schema_name: z.string().min(1, "must not be empty").max(255),
    status: SpanStatusSchema,
    payload: JsonObjectSchema.nullish(),
    result_payload: JsonObjectSchema.nullish(),
    id: PfidSchema.optional(),
    parent_span_id: z.string().min(1).max(128).nullish(),
    started_at: TimestampSchema.nullish(),
    finished_at: TimestampSchema.nullish(),
    idempotency_key: IdempotencyKeySchema.optional().openapi({ description: "Also accepted here (the Python SDK sends it inside details)" }),
  })
  .strict()
  .openapi("AgentSpanCreateDetails");

export const AgentSpanCreateSchema = z
  .object({ details: AgentSpanCreateDetailsSchema, idempotency_key: IdempotencyKeySchema.optional() })
  .strict()
  .openapi("AgentSpanCreate");

export const AgentSpanFinishSchema = z
  .object({
    status: z.enum(["complete", "failed", "cancelled"]).optional(),
    result_payload: JsonObjectSchema.nullish(),
    timestamp: TimestampSchema.optional(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("AgentSpanFinish");

export const SpanListQuerySchema = z.object({
  agent_instance_id: z.string().max(128).optional(),
  agent_id: z.string().max(128).optional(),
  start_time: TimestampSchema.optional(),
  end_time: TimestampSchema.optional(),
  schema_name: z.string().max(255).optional(),
  status: SpanStatusSchema.optional(),
  include_summaries: z.enum(["true", "false"]).optional(),
});

export const AgentSpanResponseSchema = detailsEnvelope(AgentSpanSchema, "AgentSpanResponse");
export const AgentSpanListSchema = listEnvelope(AgentSpanSchema, "AgentSpanList");
