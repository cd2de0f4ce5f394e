export { z } from "./zod.js";
export * from "./common/errors.js";
export * from "./common/ids.js";
export * from "./common/health.js";
export * from "./prefactor/account.js";
export { buildOpenApiDocument, API_VERSION } from "./openapi.js";
