import type { OpenAPIRegistry, RouteConfig } from "@asteasolutions/zod-to-openapi";
import type { ZodType } from "zod";
import { AvErrorSchema, ErrorEnvelopeSchema } from "../common/errors.js";

export const json = (schema: ZodType) => ({ content: { "application/json": { schema } } });

const prefactorErrors = {
  400: { description: "Invalid request (bad_request, invalid_value, required_value)", ...json(ErrorEnvelopeSchema) },
  401: { description: "Missing (not_authenticated) or bad (bad_authtoken) token", ...json(ErrorEnvelopeSchema) },
  403: { description: "Token lacks the scope (not_permitted)", ...json(ErrorEnvelopeSchema) },
  404: { description: "Not found, or not the caller's", ...json(ErrorEnvelopeSchema) },
  409: { description: "invalid_action or idempotency_key_already_used", ...json(ErrorEnvelopeSchema) },
  413: { description: "Body larger than the configured limit", ...json(ErrorEnvelopeSchema) },
  429: { description: "Rate limited; see Retry-After", ...json(ErrorEnvelopeSchema) },
  500: { description: "Unexpected error (never carries a stack trace)", ...json(ErrorEnvelopeSchema) },
  503: { description: "The database is unreachable, overloaded or timed out (unavailable); retry after Retry-After", ...json(ErrorEnvelopeSchema) },
};

const agentvistaErrors = {
  400: { description: "Invalid request", ...json(AvErrorSchema) },
  401: { description: "Missing or invalid key", ...json(AvErrorSchema) },
  403: { description: "Key lacks the scope", ...json(AvErrorSchema) },
  404: { description: "Not found, or not the caller's", ...json(AvErrorSchema) },
  413: { description: "Body larger than the configured limit", ...json(AvErrorSchema) },
  429: { description: "Rate or quota limit", ...json(AvErrorSchema) },
  500: { description: "Unexpected error", ...json(AvErrorSchema) },
  503: { description: "The database is unreachable, overloaded or timed out; retry after Retry-After", ...json(AvErrorSchema) },
};

type Route = Omit<RouteConfig, "responses"> & { responses: RouteConfig["responses"] };

/** Registers a Prefactor-dialect path: bearer auth and the shared error envelope on every route. */
export function prefactorPath(registry: OpenAPIRegistry, route: Route): void {
  registry.registerPath({
    security: [{ bearerAuth: [] }],
    tags: ["Prefactor"],
    ...route,
    responses: { ...prefactorErrors, ...route.responses },
  });
}

export function agentvistaPath(registry: OpenAPIRegistry, route: Route): void {
  registry.registerPath({
    security: [{ bearerAuth: [] }],
    tags: ["AgentVista"],
    ...route,
    responses: { ...agentvistaErrors, ...route.responses },
  });
}
