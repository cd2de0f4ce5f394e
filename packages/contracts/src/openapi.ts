import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { registerPrefactorPaths } from "./paths/prefactor.js";
import { registerAgentvistaPaths } from "./paths/agentvista.js";
import { registerSystemPaths } from "./paths/system.js";
import { registerOtlpPaths } from "./paths/otlp.js";

export const API_VERSION = "0.1.0";

/** Builds the whole OpenAPI document from the contracts. Pure: no I/O, no global state. */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

export function buildOpenApiDocument(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API token (Prefactor style) or an av_ key (AgentVista style); one token table.",
  });
  registerSystemPaths(registry);
  registerPrefactorPaths(registry);
  registerAgentvistaPaths(registry);
  registerOtlpPaths(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Spyglass API",
      version: API_VERSION,
      description:
        "Observability backend for AI agents. Speaks Prefactor's agent-span API and AgentVista's trace API over one domain model.",
    },
  });
}
