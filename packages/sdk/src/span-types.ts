import type { Schemas } from "@spyglass/client";
import type { SpanTypeDefinition } from "./tracer.js";

type JsonObject = Record<string, unknown>;

/**
 * Keys the SDK itself writes into spans: the span's `name` into its input, usage and the error
 * message of a throw into its result. An object schema that lists its properties (typically with
 * `additionalProperties: false`) gets them declared, so the SDK's own keys never make a span
 * invalid; a key the user declared keeps the user's definition.
 */
const RESERVED_INPUT: JsonObject = { name: { type: "string" } };
const RESERVED_RESULT: JsonObject = {
  model: { type: "string" },
  usage: { type: "object" },
  error: { type: "string" },
};

function declare(schema: JsonObject | undefined, reserved: JsonObject): JsonObject {
  if (!schema) return {};
  const properties = schema.properties;
  if (!properties || typeof properties !== "object" || Array.isArray(properties)) return schema;
  return { ...schema, properties: { ...reserved, ...(properties as JsonObject) } };
}

/** The register body's form of a span type, with the SDK's reserved keys declared. */
export function withReservedKeys(type: SpanTypeDefinition): Schemas["SpanTypeSchemaInput"] {
  return {
    name: type.name,
    params_schema: declare(type.paramsSchema, RESERVED_INPUT),
    // The generated type narrows a defaulted field to `{}`; any JSON Schema object is accepted.
    result_schema: declare(type.resultSchema, RESERVED_RESULT) as Schemas["SpanTypeSchemaInput"]["result_schema"],
    title: type.title ?? null,
    description: type.description ?? null,
    template: type.template ?? null,
  };
}
