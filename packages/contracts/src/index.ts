export { z } from "./zod.js";
export * from "./common/errors.js";
export * from "./common/ids.js";
export * from "./common/health.js";
export * from "./common/pagination.js";
export * from "./prefactor/index.js";
export { buildOpenApiDocument, API_VERSION, type OpenApiDocument } from "./openapi.js";
