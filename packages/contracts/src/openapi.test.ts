import { describe, expect, it } from "vitest";
import { ErrorCodes, errorStatus } from "./common/errors.js";
import { buildOpenApiDocument } from "./openapi.js";

describe("buildOpenApiDocument", () => {
  const doc = buildOpenApiDocument();
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, { operationId?: string; responses?: Record<string, unknown> }>).map(([method, op]) => ({ path, method, op })),
  );

  it("is OpenAPI 3.1 with at least the system routes", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths?.["/api/v1/ping"]).toBeDefined();
  });

  it("gives every operation a unique operationId and a success response", () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { op } of operations) {
      expect(Object.keys(op.responses ?? {}).some((status) => status.startsWith("2"))).toBe(true);
    }
  });

  it("is deterministic, so the drift check is meaningful", () => {
    expect(JSON.stringify(buildOpenApiDocument())).toBe(JSON.stringify(doc));
  });
});

describe("error status table", () => {
  it("maps every code to an HTTP error status", () => {
    for (const code of ErrorCodes) {
      expect(errorStatus[code]).toBeGreaterThanOrEqual(400);
    }
    expect(errorStatus.invalid_action).toBe(409);
    expect(errorStatus.not_authenticated).toBe(401);
  });
});
