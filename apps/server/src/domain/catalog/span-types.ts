import { createHash } from "node:crypto";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { SpanTypeSchemaDetails } from "@spyglass/contracts";
import { canonicalJson } from "../idempotency/service.js";
import { AppError } from "../shared/app-error.js";
import { parseTemplate, renderSummary, type ParsedTemplate } from "../runs/templates.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;

// One compiler per draft. Schemas come from clients: never fetch remote $refs (no loadSchema),
// tolerate unknown keywords, collect every error.
const draft07 = new Ajv({ allErrors: true, strict: false, validateSchema: true });
const draft2020 = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
addFormats(draft07);
addFormats(draft2020);

type Compiled = { ok: true; validate: ValidateFunction } | { ok: false; message: string };

function compile(schema: Record<string, unknown>): Compiled {
  const ajv = typeof schema.$schema === "string" && schema.$schema.includes("2020-12") ? draft2020 : draft07;
  try {
    const validate = ajv.compile(schema);
    // The compiled function stands alone; dropping Ajv's own cache entry keeps memory bounded
    // and lets two versions reuse one $id.
    ajv.removeSchema(schema);
    return { ok: true, validate };
  } catch (error) {
    ajv.removeSchema(schema);
    return { ok: false, message: error instanceof Error ? error.message.slice(0, 500) : "invalid JSON Schema" };
  }
}

/**
 * Whether a schema compiles, by its canonical JSON: registering a run restates its schema
 * version (usually one already stored), and compiling every JSON Schema again on each run start
 * was most of the cost of a register. The verdict depends only on the schema; bounded LRU.
 */
const verdicts = new Map<string, { ok: true } | { ok: false; message: string }>();
const VERDICTS_MAX = 2_000;

function schemaVerdict(schema: Record<string, unknown>): { ok: true } | { ok: false; message: string } {
  const key = createHash("sha256").update(canonicalJson(schema)).digest("base64");
  const known = verdicts.get(key);
  if (known) {
    verdicts.delete(key);
    verdicts.set(key, known);
    return known;
  }
  const compiled = compile(schema);
  const verdict = compiled.ok ? ({ ok: true } as const) : ({ ok: false, message: compiled.message } as const);
  verdicts.set(key, verdict);
  if (verdicts.size > VERDICTS_MAX) verdicts.delete(verdicts.keys().next().value!);
  return verdict;
}

export interface SpanTypeInput {
  name: string;
  params_schema: Record<string, unknown>;
  result_schema?: Record<string, unknown> | null;
  title?: string | null;
  description?: string | null;
  template?: string | null;
}

export interface SchemaVersionContent {
  span_type_schemas?: SpanTypeInput[] | null;
  span_schemas?: Record<string, Record<string, unknown>> | null;
  span_result_schemas?: Record<string, Record<string, unknown>> | null;
}

/** The result schema given to legacy span types without one: it accepts only `{}`. */
const EMPTY_OBJECT_ONLY = { type: "object", additionalProperties: false };

/** Both input shapes to one list; duplicate names are a client error. */
function spanTypesOf(content: SchemaVersionContent): SpanTypeInput[] {
  if (content.span_type_schemas) {
    const seen = new Set<string>();
    for (const t of content.span_type_schemas) {
      if (seen.has(t.name)) throw new AppError("invalid_value", `span_type_schemas: duplicate span type '${t.name}'`);
      seen.add(t.name);
    }
    return content.span_type_schemas;
  }
  const params = content.span_schemas ?? {};
  const results = content.span_result_schemas ?? {};
  const names = [...new Set([...Object.keys(params), ...Object.keys(results)])];
  return names.map((name) => ({
    name,
    params_schema: Object.hasOwn(params, name) ? params[name]! : {},
    result_schema: Object.hasOwn(results, name) ? results[name]! : EMPTY_OBJECT_ONLY,
  }));
}

/**
 * The stored `span_type_schemas` map: defaults applied and each JSON Schema compiled once so that
 * its validation result is stored with it (an invalid schema is kept, flagged, not rejected).
 */
export function normalizeSpanTypes(content: SchemaVersionContent): { spanTypes: Record<string, SpanTypeSchemaDetails>; contentHash: string } {
  const spanTypes: Record<string, SpanTypeSchemaDetails> = {};
  for (const t of spanTypesOf(content)) {
    const resultSchema = t.result_schema ?? {};
    const params = schemaVerdict(t.params_schema);
    const result = schemaVerdict(resultSchema);
    spanTypes[t.name] = {
      name: t.name,
      title: t.title ?? t.name,
      description: t.description ?? null,
      template: t.template ?? null,
      params_schema: t.params_schema,
      result_schema: resultSchema,
      params_schema_validation: params.ok ? { status: "success" } : { status: "error", message: params.message },
      result_schema_validation: result.ok ? { status: "success" } : { status: "error", message: result.message },
    };
  }
  const contentHash = createHash("sha256").update(canonicalJson(spanTypes)).digest("hex");
  return { spanTypes, contentHash };
}

export interface ValidationIssue {
  path: string;
  message: string;
  target: "payload" | "result_payload" | "schema";
}

export interface CompiledSpanType {
  title: string;
  params: ValidateFunction | null;
  result: ValidateFunction | null;
  template: ParsedTemplate | null;
  hasTemplate: boolean;
}

function issues(errors: ErrorObject[] | null | undefined, target: ValidationIssue["target"]): ValidationIssue[] {
  return (errors ?? []).slice(0, 50).map((e) => ({
    path: e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "",
    message:
      e.keyword === "additionalProperties"
        ? `must not have additional property '${String((e.params as { additionalProperty?: string }).additionalProperty)}'`
        : (e.message ?? "is invalid"),
    target,
  }));
}

export function validateAgainst(fn: ValidateFunction | null, value: unknown, target: "payload" | "result_payload"): ValidationIssue[] {
  if (!fn) return [{ path: "", message: `the span type's ${target === "payload" ? "params" : "result"}_schema is invalid, so it was not checked`, target: "schema" }];
  return fn(value) ? [] : issues(fn.errors, target);
}

export function summarize(type: CompiledSpanType | undefined, payload: Record<string, unknown>, result: Record<string, unknown> | null): string | null {
  if (!type?.template) return null;
  return renderSummary(type.template, { ...payload, ...(result ?? {}) });
}

const MAX_CACHED_VERSIONS = 1000;

/**
 * Compiled validators and parsed templates per schema version, built once per version and kept
 * (schema versions are immutable), least recently used evicted past a bound.
 */
export class SpanTypeCache {
  private readonly versions = new Map<string, Promise<Map<string, CompiledSpanType>>>();

  get(schemaVersionId: string, load: () => Promise<Record<string, SpanTypeSchemaDetails> | null>): Promise<Map<string, CompiledSpanType>> {
    const hit = this.versions.get(schemaVersionId);
    if (hit) {
      this.versions.delete(schemaVersionId);
      this.versions.set(schemaVersionId, hit);
      return hit;
    }
    const compiled = load().then((types) => {
      const out = new Map<string, CompiledSpanType>();
      for (const [name, t] of Object.entries(types ?? {})) {
        const params = compile(t.params_schema);
        const result = compile(t.result_schema);
        out.set(name, {
          title: t.title,
          params: params.ok ? params.validate : null,
          result: result.ok ? result.validate : null,
          template: t.template ? parseTemplate(t.template) : null,
          hasTemplate: Boolean(t.template),
        });
      }
      return out;
    });
    compiled.catch(() => this.versions.delete(schemaVersionId));
    this.versions.set(schemaVersionId, compiled);
    if (this.versions.size > MAX_CACHED_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    return compiled;
  }
}
