import { z } from "../zod.js";
import { ErrorEnvelopeSchema } from "../common/errors.js";

export const MAX_BULK_ITEMS = 100;

export const BulkItemTypes = [
  "agent_spans/create",
  "agent_spans/finish",
  "agent_instances/register",
  "agent_instances/start",
  "agent_instances/finish",
  "agent_instances/terminate",
] as const;

export const BulkItemSchema = z
  .looseObject({
    _type: z.enum(BulkItemTypes),
    idempotency_key: z.string().min(8, "must be at least 8 characters").max(64, "must be at most 64 characters"),
  })
  .openapi("BulkItem", {
    description:
      "The action's own parameters sit beside `_type` and `idempotency_key`: for agent_spans/create the create `details` (or its fields flat); " +
      "for agent_spans/finish `agent_span_id` plus the finish body; for agent_instances/* `agent_instance_id` plus the action body (register: the register body).",
  });

export const BulkRequestSchema = z
  .object({ items: z.array(BulkItemSchema).min(1, "must not be empty").max(MAX_BULK_ITEMS, `at most ${MAX_BULK_ITEMS} items`) })
  .strict()
  .openapi("BulkRequest");

/** One item's output: its own success or error envelope. */
export const BulkOutputSchema = z.union([z.object({ status: z.literal("success"), details: z.record(z.string(), z.unknown()) }), ErrorEnvelopeSchema]);
export type BulkOutput = z.infer<typeof BulkOutputSchema>;

export const BulkResponseSchema = z
  .object({
    status: z.literal("success"),
    outputs: z.record(z.string(), BulkOutputSchema).openapi({ description: "Each item's output under its idempotency_key (any string, `__proto__` included)" }),
  })
  .openapi("BulkResponse", { description: "Items run in order, each in its own transaction; processing stops at the first error." });
