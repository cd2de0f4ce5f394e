import { z } from "../zod.js";
import { detailsEnvelope, listEnvelope } from "../common/pagination.js";
import { DescriptionSchema, ExternalIdentifierSchema, IdempotencyKeySchema, NameSchema } from "./common.js";

export const AgentVersionSchema = z
  .object({
    type: z.literal("agent_version"),
    id: z.string(),
    account_id: z.string(),
    agent_id: z.string(),
    agent_schema_version_id: z.string().nullable(),
    external_identifier: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    current_version: z.boolean(),
    inserted_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AgentVersion");
export type AgentVersion = z.infer<typeof AgentVersionSchema>;

export const AgentVersionCreateSchema = z
  .object({
    details: z
      .object({
        agent_id: z.string().min(1).max(128),
        agent_schema_version_id: z.string().min(1).max(128),
        external_identifier: ExternalIdentifierSchema,
        name: NameSchema.nullish(),
        description: DescriptionSchema.nullish(),
      })
      .strict(),
    idempotency_key: IdempotencyKeySchema.optional(),
  })
  .strict()
  .openapi("AgentVersionCreate");

export const AgentVersionResponseSchema = detailsEnvelope(AgentVersionSchema, "AgentVersionResponse");
export const AgentVersionListSchema = listEnvelope(AgentVersionSchema, "AgentVersionList");
