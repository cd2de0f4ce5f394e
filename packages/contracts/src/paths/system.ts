import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { HealthSchema, ReadySchema } from "../common/health.js";
import { AccountResponseSchema, AccountUpdateSchema, PingResponseSchema } from "../prefactor/account.js";
import { json, prefactorPath } from "./helpers.js";

export function registerSystemPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: "get",
    path: "/healthz",
    operationId: "getHealth",
    tags: ["System"],
    summary: "The process is up",
    responses: { 200: { description: "Up", ...json(HealthSchema) } },
  });
  registry.registerPath({
    method: "get",
    path: "/readyz",
    operationId: "getReady",
    tags: ["System"],
    summary: "The database answers",
    responses: {
      200: { description: "Ready", ...json(ReadySchema) },
      503: { description: "Database unreachable", ...json(ReadySchema) },
    },
  });
  prefactorPath(registry, {
    method: "get",
    path: "/api/v1/ping",
    operationId: "ping",
    summary: "Checks the token (SDKs call it at start-up)",
    responses: { 200: { description: "The token is valid", ...json(PingResponseSchema) } },
  });
  prefactorPath(registry, {
    method: "get",
    path: "/api/v1/account",
    operationId: "getAccount",
    summary: "The caller's own account",
    responses: { 200: { description: "The account", ...json(AccountResponseSchema) } },
  });
  prefactorPath(registry, {
    method: "patch",
    path: "/api/v1/account",
    operationId: "updateAccount",
    summary: "Changes the caller's account settings: its data retention (admin scope)",
    request: { body: json(AccountUpdateSchema) },
    responses: { 200: { description: "The account", ...json(AccountResponseSchema) } },
  });
}
