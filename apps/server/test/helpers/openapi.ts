import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { buildOpenApiDocument } from "@spyglass/contracts";
import { AGENTVISTA_PREFIXES } from "../../src/dialects/agentvista/router.js";
import { OTLP_TRACE_PATHS } from "../../src/dialects/otlp/router.js";

/** The slice of JSON Schema (OpenAPI 3.1) the suites need to read. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  default?: unknown;
  [keyword: string]: unknown;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  schema: JsonSchema;
}

export type Dialect = "prefactor" | "agentvista" | "otlp" | "system";

export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** The OpenAPI path template, e.g. /api/v1/agent/{id}. */
  path: string;
  operationId: string;
  dialect: Dialect;
  pathParams: Parameter[];
  queryParams: Parameter[];
  /** The application/json request body schema, when the operation takes one. */
  body?: JsonSchema;
  bodyRequired: boolean;
}

export interface OpenApiLike {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Which error envelope a path answers with (the dialect routers' own rule). */
export function dialectOf(path: string): Dialect {
  if (OTLP_TRACE_PATHS.includes(path.replace(/\/$/, ""))) return "otlp";
  if (!path.startsWith("/api/v1/")) return "system";
  const rest = path.slice("/api/v1".length);
  return AGENTVISTA_PREFIXES.some((p) => rest === p || rest.startsWith(`${p}/`)) ? "agentvista" : "prefactor";
}

/** Every operation of an OpenAPI document (by default the one the contracts build today). */
export function listOperations(doc: OpenApiLike = buildOpenApiDocument() as OpenApiLike): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const shared = ((item as { parameters?: unknown[] }).parameters ?? []) as Parameter[];
    for (const method of METHODS) {
      const raw = item[method] as
        | { operationId?: string; parameters?: Parameter[]; requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } }
        | undefined;
      if (!raw) continue;
      const params = [...shared, ...(raw.parameters ?? [])].map((p) => ({ ...p, required: p.required ?? p.in === "path", schema: p.schema ?? {} }));
      ops.push({
        method,
        path,
        operationId: raw.operationId ?? `${method} ${path}`,
        dialect: dialectOf(path),
        pathParams: params.filter((p) => p.in === "path"),
        queryParams: params.filter((p) => p.in === "query"),
        body: raw.requestBody?.content?.["application/json"]?.schema,
        bodyRequired: raw.requestBody?.required ?? false,
      });
    }
  }
  return ops;
}

export function resolve(schema: JsonSchema, doc: OpenApiLike): JsonSchema {
  let s = schema;
  for (let i = 0; s.$ref && i < 20; i++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, "");
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

function typesOf(s: JsonSchema): string[] {
  if (Array.isArray(s.type)) return s.type;
  if (s.type) return [s.type];
  if (s.properties) return ["object"];
  if (s.items) return ["array"];
  return [];
}

/**
 * A plausible valid value for `schema`: every property present (required or not), first enum
 * member, first non-null alternative. Deterministic apart from uuids and date-times; patterns are
 * satisfied through fast-check's stringMatching with a fixed seed.
 */
export function sampleValue(schema: JsonSchema, doc: OpenApiLike, depth = 0): unknown {
  const s = resolve(schema, doc);
  if (depth > 8) return null;
  if (s.const !== undefined) return s.const;
  if (s.default !== undefined && typesOf(s).some((t) => t !== "object" && t !== "array")) return s.default;
  if (s.enum?.length) return s.enum.find((v) => v !== null) ?? s.enum[0];
  if (s.allOf?.length) {
    return Object.assign({}, ...s.allOf.map((part) => sampleValue(part, doc, depth + 1)).filter((v) => v && typeof v === "object"));
  }
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.length) {
    const pick = alternatives.find((a) => !typesOf(resolve(a, doc)).includes("null")) ?? alternatives[0]!;
    return sampleValue(pick, doc, depth + 1);
  }
  const type = typesOf(s).find((t) => t !== "null") ?? typesOf(s)[0];
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, sampleValue(v, doc, depth + 1)]));
    case "array":
      return s.items ? Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sampleValue(s.items!, doc, depth + 1)) : [];
    case "integer":
    case "number":
      return Math.max(1, Math.ceil((s.minimum ?? s.exclusiveMinimum ?? 0) + (s.exclusiveMinimum !== undefined ? 1 : 0)));
    case "boolean":
      return true;
    case "null":
      return null;
    case "string":
      if (s.format === "date-time") return new Date().toISOString();
      if (s.format === "date") return new Date().toISOString().slice(0, 10);
      if (s.format === "uuid") return randomUUID();
      if (s.format === "email") return "someone@example.com";
      if (s.format === "uri" || s.format === "url") return "https://example.com/";
      if (s.pattern) {
        try {
          return fc.sample(fc.stringMatching(new RegExp(s.pattern)), { numRuns: 1, seed: 42 })[0];
        } catch {
          // an unsupported pattern: fall through to a plain string
        }
      }
      return "x".repeat(Math.max(6, s.minLength ?? 0));
    default:
      return {};
  }
}

export interface Leaf {
  /** Keys from the root; numbers index arrays. */
  path: (string | number)[];
  schema: JsonSchema;
  value: unknown;
  /** Whether the containing object lists this key as required. */
  required: boolean;
}

/** Every node of a sampled value (objects and arrays included), with the schema that produced it. */
export function leavesOf(value: unknown, schema: JsonSchema | undefined, doc: OpenApiLike, path: (string | number)[] = [], required = true): Leaf[] {
  const s = schema ? resolve(schema, doc) : {};
  const here: Leaf[] = path.length ? [{ path, schema: s, value, required }] : [];
  const choice = s.anyOf ?? s.oneOf;
  const effective = choice ? resolve(choice.find((a) => !typesOf(resolve(a, doc)).includes("null")) ?? choice[0]!, doc) : s;
  if (Array.isArray(value)) {
    return [...here, ...value.flatMap((v, i) => leavesOf(v, effective.items, doc, [...path, i], true))];
  }
  if (value && typeof value === "object") {
    const props = { ...Object.assign({}, ...(effective.allOf ?? []).map((p) => resolve(p, doc).properties ?? {})), ...effective.properties };
    const req = new Set([...(effective.required ?? []), ...(effective.allOf ?? []).flatMap((p) => resolve(p, doc).required ?? [])]);
    return [
      ...here,
      ...Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leavesOf(v, props[k], doc, [...path, k], req.has(k))),
    ];
  }
  return here;
}

/** A deep copy of `root` with the node at `path` replaced (or removed when `remove`). */
export function withLeaf(root: unknown, path: (string | number)[], replacement: unknown, remove = false): unknown {
  if (!path.length) return replacement;
  const copy: unknown = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = replacement;
  }
  return copy;
}

/** Fills a path template, URL-encoding each value as one segment unless `raw`. */
export function fillPath(template: string, values: Record<string, string>, raw = false): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name] ?? "x";
    return raw ? v : encodeURIComponent(v);
  });
}
