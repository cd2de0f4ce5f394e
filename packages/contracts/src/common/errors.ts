import { z } from "../zod.js";

/** Prefactor's error codes, exactly this set (api-prefactor.md). */
export const ErrorCodes = [
  "bad_request",
  "bad_authtoken",
  "not_authenticated",
  "not_permitted",
  "not_implemented",
  "unknown",
  "not_found",
  "unexpected_ref_type",
  "unexpected",
  "invalid_action",
  "invalid_value",
  "required_value",
  "idempotency_key_already_used",
  // Spyglass additions for limits the Prefactor set has no word for; sent with their own status.
  "payload_too_large",
  "rate_limited",
  "unavailable",
] as const;
export const ErrorCodeSchema = z.enum(ErrorCodes).openapi("ErrorCode");
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** HTTP status per error code, shared by both dialects. */
export const errorStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_value: 400,
  required_value: 400,
  unexpected_ref_type: 400,
  bad_authtoken: 401,
  not_authenticated: 401,
  not_permitted: 403,
  not_found: 404,
  invalid_action: 409,
  idempotency_key_already_used: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  not_implemented: 501,
  unknown: 500,
  unexpected: 500,
};

export const FieldErrorSchema = z
  .object({
    status: z.literal("error"),
    code: ErrorCodeSchema,
    message: z.string(),
  })
  .openapi("FieldError");

export const ControlSchema = z
  .object({ terminate: z.boolean(), reason: z.string().nullable() })
  .openapi("Control", { description: "Tells an SDK to stop the run (its instance was terminated)." });

/** Prefactor dialect error envelope. */
export const ErrorEnvelopeSchema = z
  .object({
    status: z.literal("error"),
    code: ErrorCodeSchema,
    message: z.string(),
    errors: z.record(z.string(), FieldErrorSchema).optional(),
    control: ControlSchema.optional(),
  })
  .openapi("ErrorEnvelope");
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** AgentVista dialect error body. */
export const AvErrorSchema = z
  .object({
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("AvError");
export type AvError = z.infer<typeof AvErrorSchema>;
