import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { OtlpExportTraceServiceRequestSchema, OtlpExportTraceServiceResponseSchema, OtlpStatusSchema } from "../otlp/traces.js";

const both = (schema: typeof OtlpStatusSchema | typeof OtlpExportTraceServiceResponseSchema) => ({
  content: {
    "application/x-protobuf": { schema: { type: "string" as const, format: "binary" } },
    "application/json": { schema },
  },
});

const status = (description: string) => ({ description, ...both(OtlpStatusSchema) });

/** OTLP/HTTP trace export, at the OTLP default path and at AgentVista's. */
export function registerOtlpPaths(registry: OpenAPIRegistry): void {
  for (const [path, operationId] of [
    ["/v1/traces", "exportOtlpTraces"],
    ["/api/v1/otlp/v1/traces", "exportOtlpTracesAgentvistaPath"],
  ] as const) {
    registry.registerPath({
      method: "post",
      path,
      operationId,
      tags: ["OTLP"],
      security: [{ bearerAuth: [] }],
      summary: "Exports OpenTelemetry spans (OTLP/HTTP, write scope)",
      description:
        "application/x-protobuf or application/json, optionally Content-Encoding: gzip (the body limit applies to the decompressed size). " +
        "A trace is a run (its id as a UUID), service.name its agent; see docs/otlp.md for the mapping. Answers in the request's encoding.",
      request: {
        body: {
          required: true,
          content: {
            "application/x-protobuf": { schema: { type: "string", format: "binary" } },
            "application/json": { schema: OtlpExportTraceServiceRequestSchema },
          },
        },
      },
      responses: {
        200: { description: "ExportTraceServiceResponse; partialSuccess counts and explains spans not stored", ...both(OtlpExportTraceServiceResponseSchema) },
        400: status("Undecodable body, or ids of the wrong length"),
        401: status("Missing or invalid token"),
        403: status("Token lacks the write scope"),
        413: status("Body (decompressed) larger than the configured limit, or too many spans"),
        415: status("Content-Type other than application/x-protobuf or application/json, or an unsupported Content-Encoding"),
        429: status("Rate or monthly event limit; retry after Retry-After seconds"),
        503: status("Overloaded; retry after Retry-After seconds"),
      },
    });
  }
}
