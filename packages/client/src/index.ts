import createFetchClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./generated/openapi.js";

export type { components, operations, paths };
export type Schemas = components["schemas"];

export interface SpyglassClientOptions {
  /** Server origin, e.g. http://localhost:3000 (paths in the spec carry /api/v1 themselves). */
  baseUrl: string;
  /** API token or av_ key, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  fetch?: ClientOptions["fetch"];
}

export type SpyglassClient = Client<paths>;

/** A typed client for the whole Spyglass API: `client.GET("/api/v1/ping")` returns `{data, error, response}`. */
export function createSpyglassClient(options: SpyglassClientOptions): SpyglassClient {
  return createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    fetch: options.fetch,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
  });
}
