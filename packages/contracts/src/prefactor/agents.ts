import { z } from "../zod.js";
import { PfidSchema } from "../common/ids.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { DescriptionSchema, ExternalIdentifierSchema, IdempotencyKeySchema, NameSchema } from "./common.js";

export const InstanceCountsSchema = z
  .object({
    total: z.number().int(),
    pending: z.number().int(),
    active: z.number().int(),
    complete: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    terminated: z.number().int(),
    finished: z.number().int(),
  })
  .openapi("InstanceCounts");

export const AgentSchema = z
  .object({
    type: z.literal("agent"),
    id: z.string(),
    account_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    external_identifier: z.string().nullable(),
    status: z.enum(["pending", "active", "dormant", "retired"]).openapi({
      description: "retired when retired; pending before its first run; active while a run is pending or active; dormant otherwise",
    }),
    instance_counts: InstanceCountsSchema,
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Agent");
export type Agent = z.infer<typeof AgentSchema>;

export const AgentCreateSchema = z
  .object({
    details: z
      .object({
        name: NameSchema,
        description: DescriptionSchema.nullish(),
        external_identifier: ExternalIdentifierSchema.nullish(),
        id: PfidSchema.optional(),
      })
      .strict(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("AgentCreate");

export const AgentUpdateSchema = z
  .object({
    details: z.object({ name: NameSchema.optional(), description: DescriptionSchema.nullish() }).strict(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("AgentUpdate");

export const ActionBodySchema = z
  .object({ idempotency_key: IdempotencyKeySchema.optional() })
  .strict()
  .openapi("ActionBody");

export const AgentResponseSchema = detailsEnvelope(AgentSchema, "AgentResponse");
export const AgentListSchema = listEnvelope(AgentSchema, "AgentList");
