import { z } from "../zod.js";

// OTLP/HTTP trace export (opentelemetry-proto's collector/trace/v1), in its JSON encoding. The
// protobuf encoding carries the same messages; the server decodes it with the official definitions.

/** Spans in one export request at most (the exporters' default batch is 512). */
export const OTLP_MAX_SPANS_PER_REQUEST = 10_000;

const AnyJson = z.unknown();

export const OtlpExportTraceServiceRequestSchema = z
  .object({
    resourceSpans: z
      .array(
        z.object({
          resource: z.object({ attributes: z.array(AnyJson).optional() }).passthrough().optional(),
          scopeSpans: z.array(z.object({ scope: AnyJson.optional(), spans: z.array(AnyJson).optional() }).passthrough()).optional(),
        }).passthrough(),
      )
      .optional(),
  })
  .passthrough()
  .openapi("OtlpExportTraceServiceRequest", {
    description:
      "OTLP/JSON: lowerCamelCase fields, trace and span ids as hex, enums as integers, 64-bit integers as strings or numbers. " +
      "The same message as application/x-protobuf.",
  });

export const OtlpExportTraceServiceResponseSchema = z
  .object({
    partialSuccess: z
      .object({
        rejectedSpans: z.string().regex(/^\d+$/).openapi({ description: "int64, as the proto3 JSON mapping writes it" }),
        errorMessage: z.string(),
      })
      .optional()
      .openapi({ description: "Present when some spans were not stored, with why" }),
  })
  .openapi("OtlpExportTraceServiceResponse");
export type OtlpExportTraceServiceResponse = z.infer<typeof OtlpExportTraceServiceResponseSchema>;

export const OtlpStatusSchema = z
  .object({
    code: z.number().int().openapi({ description: "gRPC status code" }),
    message: z.string(),
  })
  .openapi("OtlpStatus", { description: "google.rpc.Status" });
export type OtlpStatus = z.infer<typeof OtlpStatusSchema>;
