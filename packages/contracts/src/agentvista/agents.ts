import { z } from "../zod.js";
import { AvPageQuerySchema } from "./pagination.js";

export const AvAgentSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    total_runs: z.number().int(),
    success_rate: z.number().nullable().openapi({ description: "Percent of runs with success = true among runs with a success signal" }),
    total_cost: z.number(),
    avg_cost_per_run: z.number().nullable().openapi({ description: "Mean cost of completed runs" }),
    last_run_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("AvAgentSummary");
export type AvAgentSummary = z.infer<typeof AvAgentSummarySchema>;

export const AvAgentListResponseSchema = z.array(AvAgentSummarySchema).openapi("AvAgentList");

export const AvAgentDetailSchema = AvAgentSummarySchema.extend({
  successful_runs: z.number().int(),
  failed_runs: z.number().int().openapi({ description: "Runs that ended failed or timed_out" }),
}).openapi("AvAgentDetail");

export const AvAgentIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const AvAgentStatsQuerySchema = z.object({
  days: z.string().max(16).optional().openapi({ description: "7, 30 or 90; any other value means 7" }),
});

export const AvAgentDayStatsSchema = z
  .object({
    date: z.string().openapi({ example: "2024-01-15", description: "Calendar day (UTC)" }),
    total_runs: z.number().int(),
    successful_runs: z.number().int(),
    failed_runs: z.number().int(),
    total_cost: z.number(),
    avg_duration_ms: z.number().nullable(),
    p95_duration_ms: z.number().nullable(),
  })
  .openapi("AvAgentDayStats");

export const AvAgentStatsSchema = z
  .object({
    agent_id: z.string(),
    agent_name: z.string(),
    window: z.number().int().openapi({ description: "Days covered (7, 30 or 90), today (UTC) included" }),
    days: z.array(AvAgentDayStatsSchema).openapi({ description: "One entry per day, oldest first, zero-filled" }),
  })
  .openapi("AvAgentStats");

export const AvAgentRunsQuerySchema = AvPageQuerySchema;
