import { z } from "../zod.js";
import { PayloadValidationSchema } from "../prefactor/spans.js";
import { AvPageQuerySchema, avPage, queryInt } from "./pagination.js";

// Inputs are lenient where SDKs differ (null means "not given", unknown fields are ignored) and
// bounded everywhere a client controls a size.

export const AV_MAX_SPANS_PER_BATCH = 100;
export const AV_MAX_TRACES_PER_BATCH = 100;

export const AvTraceStatusSchema = z
  .enum(["running", "completed", "failed", "timed_out"])
  .openapi("AvTraceStatus", { description: "Status of a trace or span. Spans closed by the stale-run sweeper show as failed." });
export type AvTraceStatus = z.infer<typeof AvTraceStatusSchema>;

export const AV_SPAN_TYPES = ["agent", "llm", "tool", "http", "db", "retrieval", "custom"] as const;
export const AvSpanTypeSchema = z.enum(AV_SPAN_TYPES).openapi("AvSpanType");
export type AvSpanType = z.infer<typeof AvSpanTypeSchema>;

const AvIdSchema = z.guid("must be a UUID").openapi({ example: "550e8400-e29b-41d4-a716-446655440000" });

const AvTimestampInputSchema = z.iso
  .datetime({ offset: true, local: true, message: "must be an ISO 8601 timestamp" })
  .openapi({ example: "2024-01-15T10:00:00Z", description: "ISO 8601; without a zone offset it is read as UTC" });

export const AvMoneyInputSchema = z
  .union([
    // The same forms as a JSON number (an exponent too: "1e-7" as 1e-7 is), below 1e14.
    z
      .string()
      .regex(/^\d{1,14}(\.\d{1,12})?([eE][+-]?\d{1,3})?$/, "must be a non-negative decimal such as \"0.004500\"")
      .refine((v) => Number(v) < 1e14, "must be less than 1e14"),
    z.number().nonnegative().lt(1e14),
  ])
  .openapi("AvMoneyInput", { description: "USD as a decimal string (exact; an exponent is allowed, as in a number) or a number; stored with 6 decimal places." });

const TokenCountSchema = z.number().int().nonnegative().max(2_147_483_647);
const DurationSchema = z.number().int().nonnegative().max(2_147_483_647);
const JsonObjectSchema = z.record(z.string(), z.unknown());

/** Reads are bounded in bytes: a JSON field larger than this is summarised where the contract says so. */
export const AV_TRUNCATE_OVER_BYTES = 8192;
/** Characters of a summarised field's JSON text kept in its preview. */
export const AV_TRUNCATED_PREVIEW_CHARS = 1024;
/** A trace detail page stops once its spans reach about this many bytes of JSON (the span that crosses it is the last). */
export const AV_SPAN_PAGE_BUDGET_BYTES = 4 * 1024 * 1024;
export const AV_SPAN_PAGE_MAX = 5000;
export const AV_SPAN_PAGE_DEFAULT = 1000;
/** Spans one run (trace) may hold; writes past it are refused. */
export const MAX_SPANS_PER_RUN = 25_000;

export const AvTruncatedJsonSchema = z
  .object({
    _truncated: z.literal(true),
    size_bytes: z.number().int().openapi({ description: "Bytes of the field's JSON text as stored (PostgreSQL's jsonb text form)" }),
    preview: z.string().openapi({ description: `The first ${AV_TRUNCATED_PREVIEW_CHARS} characters of that JSON text (not valid JSON by itself)` }),
  })
  .openapi("AvTruncatedJson", {
    description: `Stands in for a JSON field whose text exceeds ${AV_TRUNCATE_OVER_BYTES} bytes. The full value: GET /api/v1/dashboard/traces/{trace_id}/spans/{span_id}.`,
  });
export type AvTruncatedJson = z.infer<typeof AvTruncatedJsonSchema>;

/** A JSON object, or its truncation marker where a read summarises large fields. */
const JsonObjectOrTruncatedSchema = z.union([AvTruncatedJsonSchema, JsonObjectSchema]);

export const AvTraceInputSchema = z
  .object({
    trace_id: AvIdSchema,
    agent: z.string().trim().min(1).max(255).nullish().openapi({ description: "Agent name; created on first use. Either this or agent_name is required." }),
    agent_name: z.string().trim().min(1).max(255).nullish().openapi({ description: "Alias of agent" }),
    status: AvTraceStatusSchema.nullish().openapi({ description: "Default completed" }),
    started_at: AvTimestampInputSchema,
    ended_at: AvTimestampInputSchema.nullish(),
    duration_ms: DurationSchema.nullish().openapi({ description: "Derived from started_at/ended_at when absent" }),
    success: z.boolean().nullish(),
    outcome: z.string().max(1024).nullish(),
    error_message: z.string().max(65_536).nullish(),
    total_tokens: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish().openapi({
      description: "When absent: the sum over the trace's llm spans",
    }),
    total_cost_usd: AvMoneyInputSchema.nullish().openapi({ description: "When absent: the sum over the trace's llm spans" }),
    metadata: JsonObjectSchema.nullish(),
  })
  .refine((t) => Boolean(t.agent ?? t.agent_name), { message: "is required (agent or agent_name)", path: ["agent"] })
  .openapi("AvTraceInput");
export type AvTraceInput = z.infer<typeof AvTraceInputSchema>;

export const AvSpanInputSchema = z
  .object({
    span_id: AvIdSchema,
    trace_id: AvIdSchema.openapi({ description: "Must equal the trace's trace_id" }),
    parent_span_id: AvIdSchema.nullish(),
    type: z.string().max(64).openapi({ description: "agent|llm|tool|http|db|retrieval|custom; anything else is stored as custom" }),
    name: z.string().max(1024),
    status: AvTraceStatusSchema,
    started_at: AvTimestampInputSchema,
    ended_at: AvTimestampInputSchema.nullish(),
    duration_ms: DurationSchema.nullish(),
    model: z.string().max(255).nullish(),
    input_tokens: TokenCountSchema.nullish(),
    output_tokens: TokenCountSchema.nullish(),
    total_tokens: TokenCountSchema.nullish().openapi({ description: "input_tokens + output_tokens when absent" }),
    cost_usd: AvMoneyInputSchema.nullish(),
    input: z.unknown().optional().openapi({ description: "Any JSON; a non-object is stored (and read back) as {\"value\": x}" }),
    output: z.unknown().optional().openapi({ description: "Any JSON; a non-object is stored (and read back) as {\"value\": x}" }),
    metadata: JsonObjectSchema.nullish(),
    error_message: z.string().max(65_536).nullish(),
  })
  .openapi("AvSpanInput");
export type AvSpanInput = z.infer<typeof AvSpanInputSchema>;

export const AvTraceBatchItemSchema = z
  .object({
    trace: AvTraceInputSchema,
    spans: z.array(AvSpanInputSchema).max(AV_MAX_SPANS_PER_BATCH).default([]),
  })
  .openapi("AvTraceBatchItem");
export type AvTraceBatchItem = z.infer<typeof AvTraceBatchItemSchema>;

export const AvTraceBatchRequestSchema = z
  .object({
    traces: z.array(AvTraceBatchItemSchema).max(AV_MAX_TRACES_PER_BATCH),
  })
  .openapi("AvTraceBatchRequest", {
    description: `At most ${AV_MAX_SPANS_PER_BATCH} spans in total and ${AV_MAX_TRACES_PER_BATCH} traces per request.`,
  });

/** What the batch handler checks before looking at any trace: the envelope and the span budget. */
export const AvTraceBatchEnvelopeSchema = z.object({
  traces: z.array(z.unknown()).max(AV_MAX_TRACES_PER_BATCH, `at most ${AV_MAX_TRACES_PER_BATCH} traces per request`),
});

export const AvTraceBatchErrorSchema = z
  .object({ index: z.number().int().nonnegative(), trace_id: z.string().nullable(), message: z.string() })
  .openapi("AvTraceBatchError");

export const AvTraceBatchResponseSchema = z
  .object({
    accepted: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    errors: z.array(AvTraceBatchErrorSchema),
  })
  .openapi("AvTraceBatchResponse");
export type AvTraceBatchResponse = z.infer<typeof AvTraceBatchResponseSchema>;

const MoneyOutSchema = z
  .string()
  .regex(/^-?\d+\.\d{6}$/)
  .openapi({ description: "USD, decimal string with 6 places", example: "0.004500" });

export const AvTraceSchema = z
  .object({
    trace_id: z.string(),
    agent_id: z.string(),
    agent_name: z.string(),
    status: AvTraceStatusSchema,
    started_at: z.string(),
    ended_at: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    success: z.boolean().nullable(),
    outcome: z.string().nullable(),
    error_message: z.string().nullable(),
    total_tokens: z.number().int().nullable(),
    total_cost_usd: MoneyOutSchema.nullable(),
    metadata: JsonObjectOrTruncatedSchema.nullable().openapi({
      description: `In lists, metadata whose JSON text exceeds ${AV_TRUNCATE_OVER_BYTES} bytes is an AvTruncatedJson; the trace detail has it whole.`,
    }),
  })
  .openapi("AvTrace");
export type AvTrace = z.infer<typeof AvTraceSchema>;

export const AvSpanSchema = z
  .object({
    span_id: z.string(),
    trace_id: z.string(),
    parent_span_id: z.string().nullable(),
    type: AvSpanTypeSchema,
    name: z.string(),
    status: AvTraceStatusSchema,
    started_at: z.string(),
    ended_at: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    model: z.string().nullable(),
    input_tokens: z.number().int().nullable(),
    output_tokens: z.number().int().nullable(),
    total_tokens: z.number().int().nullable(),
    cost_usd: MoneyOutSchema.nullable(),
    cost_computed: z.boolean().openapi({ description: "cost_usd was computed from the model price table (the client reported none)" }),
    input: JsonObjectSchema.nullable(),
    output: JsonObjectSchema.nullable(),
    metadata: JsonObjectSchema.nullable(),
    error_message: z.string().nullable(),
    summary: z.string().nullable().openapi({
      description: "Rendered from the span type's Liquid template of the run's schema version (spans reported through the Prefactor dialect); null without a template",
    }),
    payload_validation: PayloadValidationSchema.openapi({
      description: "The payload and result checked against the span type's JSON Schemas (Prefactor dialect); unchecked for spans without a declared type",
    }),
  })
  .openapi("AvSpan");
export type AvSpan = z.infer<typeof AvSpanSchema>;

const truncatedField = `An AvTruncatedJson when its JSON text exceeds ${AV_TRUNCATE_OVER_BYTES} bytes`;

// Whole objects rather than .extend() of the registered schemas, which the document would show as
// an allOf intersection whose fields clients could not narrow.
export const AvTraceDetailSpanSchema = z.object({
  ...AvSpanSchema.shape,
  input: JsonObjectOrTruncatedSchema.nullable().openapi({ description: truncatedField }),
  output: JsonObjectOrTruncatedSchema.nullable().openapi({ description: truncatedField }),
  metadata: JsonObjectOrTruncatedSchema.nullable().openapi({ description: truncatedField }),
  truncated: z.boolean().openapi({ description: "True when input, output or metadata was replaced by an AvTruncatedJson" }),
}).openapi("AvTraceDetailSpan", {
  description: `A span as a trace detail page shows it: input, output and metadata over ${AV_TRUNCATE_OVER_BYTES} bytes of JSON are summarised.`,
});
export type AvTraceDetailSpan = z.infer<typeof AvTraceDetailSpanSchema>;

export const AvTraceDetailSchema = z.object({
  ...AvTraceSchema.shape,
  metadata: JsonObjectSchema.nullable(),
  span_count: z.number().int().nonnegative().openapi({ description: "All spans of the trace, whatever the page" }),
  next_span_cursor: z.string().nullable().openapi({ description: "Pass as span_cursor for the next page of spans; null when this page has the last span" }),
  spans: z.array(AvTraceDetailSpanSchema).openapi({
    description:
      `One page: ordered by started_at ascending, then span_id; at most span_limit spans, and fewer once the page's spans reach about ` +
      `${AV_SPAN_PAGE_BUDGET_BYTES / (1024 * 1024)} MB of JSON (the span that crosses it is the last).`,
  }),
}).openapi("AvTraceDetail");

export const AvTraceDetailQuerySchema = z.object({
  span_limit: queryInt(1, AV_SPAN_PAGE_MAX).optional().openapi({ description: `Spans per page, 1..${AV_SPAN_PAGE_MAX} (default ${AV_SPAN_PAGE_DEFAULT})` }),
  span_cursor: z.string().min(1).max(512).optional().openapi({ description: "next_span_cursor of the previous page (opaque); absent = first page" }),
  span_payloads: z.enum(["full", "none"]).optional().openapi({
    description:
      "none: every span's input, output and metadata come as null with truncated true (a waterfall needs only the tree; getTraceSpan has a span whole). Default full",
  }),
});
export type AvTraceDetailQuery = z.infer<typeof AvTraceDetailQuerySchema>;

export const AvSpanIdParamsSchema = z.object({ trace_id: z.string().min(1).max(128), span_id: z.string().min(1).max(128) });

const QueryTimestampSchema = z.iso.datetime({ offset: true, local: true, message: "must be an ISO 8601 timestamp" });

export const AV_TRACE_ORDER_FIELDS = ["started_at", "duration_ms", "total_cost_usd"] as const;

export const AvTraceListQuerySchema = AvPageQuerySchema.extend({
  agent: z.string().trim().max(255).optional().openapi({ description: "Agent name (trimmed, as names are when stored)" }),
  agent_id: z.string().max(128).optional(),
  status: AvTraceStatusSchema.optional(),
  success: z.enum(["true", "false"]).optional(),
  outcome: z.string().max(1024).optional(),
  start: QueryTimestampSchema.optional().openapi({ description: "started_at >= start" }),
  end: QueryTimestampSchema.optional().openapi({ description: "started_at <= end" }),
  min_duration_ms: queryInt(0, 2_147_483_647).optional(),
  max_duration_ms: queryInt(0, 2_147_483_647).optional(),
  q: z.string().max(256).optional().openapi({ description: "Substring of the agent name, outcome, error message or trace id (case-insensitive)" }),
  order_by: z.enum(AV_TRACE_ORDER_FIELDS).optional().openapi({ description: "Default started_at" }),
  order: z.enum(["asc", "desc"]).optional().openapi({ description: "Default desc (newest first)" }),
});
export type AvTraceListQuery = z.infer<typeof AvTraceListQuerySchema>;

export const AvTraceListResponseSchema = avPage(AvTraceSchema).openapi("AvTraceList");
export type AvTraceListResponse = z.infer<typeof AvTraceListResponseSchema>;

export const AvTraceIdParamsSchema = z.object({ trace_id: z.string().min(1).max(128) });

export const AvCompareAgentsQuerySchema = z.object({
  agent_a: z.string().trim().min(1).max(255).openapi({ description: "Agent id or name (trimmed, as names are when stored)" }),
  agent_b: z.string().trim().min(1).max(255).openapi({ description: "Agent id or name (trimmed, as names are when stored)" }),
  days: z.enum(["7", "30", "90"]).optional().openapi({ description: "Window in days; absent = all time" }),
});

export const AvAgentComparisonSchema = z
  .object({
    agent_id: z.string(),
    name: z.string(),
    total_runs: z.number().int(),
    completed_runs: z.number().int(),
    failed_runs: z.number().int().openapi({ description: "Runs that ended failed or timed_out" }),
    successful_runs: z.number().int().openapi({ description: "Runs with success = true" }),
    unsuccessful_runs: z.number().int().openapi({ description: "Runs with success = false" }),
    success_rate: z.number().nullable().openapi({ description: "Percent of successful runs among runs with a success signal; null when none" }),
    error_rate: z.number().openapi({ description: "Percent of all runs that ended failed or timed_out (0 without runs)" }),
    total_cost: z.number(),
    avg_cost_per_run: z.number().nullable().openapi({ description: "Mean cost of completed runs (a run without a cost counts 0)" }),
    avg_duration_ms: z.number().nullable().openapi({ description: "Completed runs" }),
    p50_duration_ms: z.number().nullable().openapi({ description: "Completed runs (continuous percentile)" }),
    p95_duration_ms: z.number().nullable().openapi({ description: "Completed runs (continuous percentile)" }),
    total_tokens: z.number().int(),
    avg_tokens_per_run: z.number().nullable().openapi({ description: "total_tokens / total_runs" }),
    outcomes: z.record(z.string(), z.number().int()).openapi({ description: "Runs per outcome label (the 100 most frequent)" }),
  })
  .openapi("AvAgentComparison");
export type AvAgentComparison = z.infer<typeof AvAgentComparisonSchema>;

export const AvCompareAgentsResponseSchema = z
  .object({ agents: z.array(AvAgentComparisonSchema).length(2) })
  .openapi("AvCompareAgentsResponse");

export const AvOutcomeUpdateSchema = z
  .object({
    success: z.boolean(),
    outcome: z.string().max(1024).nullish().openapi({ description: "Absent keeps the current outcome; null clears it" }),
  })
  .openapi("AvOutcomeUpdate");

export const AvOutcomeResponseSchema = z
  .object({ trace_id: z.string(), success: z.boolean(), outcome: z.string().nullable() })
  .openapi("AvOutcome");
