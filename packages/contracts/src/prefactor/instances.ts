import { z } from "../zod.js";
import { PfidSchema, TimestampSchema } from "../common/ids.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { DescriptionSchema, ExternalIdentifierSchema, IdempotencyKeySchema, MoneySchema, NameSchema } from "./common.js";
import { SchemaVersionContentSchema } from "./schema-versions.js";

export const InstanceStatusSchema = z
  .enum(["pending", "active", "complete", "failed", "cancelled", "terminated"])
  .openapi("InstanceStatus");

export const SpanCountsSchema = z
  .object({
    total: z.number().int(),
    pending: z.number().int(),
    active: z.number().int(),
    complete: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    finished: z.number().int(),
  })
  .openapi("SpanCounts");

export const AgentInstanceSchema = z
  .object({
    type: z.literal("agent_instance"),
    id: z.string(),
    account_id: z.string(),
    agent_id: z.string(),
    agent_version_id: z.string().nullable(),
    agent_schema_version_id: z.string().nullable(),
    environment_id: z.string().nullable(),
    agent_deployment_id: z.null(),
    status: InstanceStatusSchema,
    purpose: z.string().nullable(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    termination_reason: z.string().nullable(),
    span_counts: SpanCountsSchema,
    success: z.boolean().nullable(),
    outcome: z.string().nullable(),
    total_tokens: z.number().int().nullable(),
    total_cost_usd: MoneySchema.nullable(),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AgentInstance");
export type AgentInstance = z.infer<typeof AgentInstanceSchema>;

export const RegisterInstanceSchema = z
  .object({
    agent_id: z.string().min(1).max(128).nullish(),
    environment_id: z.string().min(1).max(128).nullish(),
    agent_version: z
      .object({
        name: NameSchema.nullish(),
        external_identifier: ExternalIdentifierSchema,
        description: DescriptionSchema.nullish(),
      })
      .strict(),
    agent_schema_version: SchemaVersionContentSchema.strict(),
    id: PfidSchema.optional(),
    update_current_version: z.boolean().optional(),
    purpose: z.enum(["live", "smoke_test", "eval"]).optional(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("RegisterInstance");

export const StartInstanceSchema = z
  .object({ timestamp: TimestampSchema.optional(), idempotency_key: IdempotencyKeySchema.optional() })
  .strict()
  .openapi("StartInstance");

export const FinishInstanceSchema = z
  .object({
    status: z.enum(["complete", "failed", "cancelled"]).optional(),
    timestamp: TimestampSchema.optional(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("FinishInstance");

export const TerminateInstanceSchema = z
  .object({
    reason: z.string().min(1, "must not be empty").max(1000, "must be at most 1000 characters"),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("TerminateInstance");

export const InstanceListQuerySchema = z.object({
  agent_id: z.string().max(128).optional(),
  status: InstanceStatusSchema.optional(),
  environment_id: z.string().max(128).optional(),
  started_after: TimestampSchema.optional(),
  started_before: TimestampSchema.optional(),
});

export const AgentInstanceResponseSchema = detailsEnvelope(AgentInstanceSchema, "AgentInstanceResponse");
export const AgentInstanceListSchema = listEnvelope(AgentInstanceSchema, "AgentInstanceList");
