import { createHash } from "node:crypto";
import type { ErrorObject } from "ajv";
import type { SpanTypeSchemaDetails } from "@spyglass/contracts";
import { canonicalJson } from "../idempotency/service.js";
import { AppError } from "../shared/app-error.js";
import { parseTemplate, renderSummary, type ParsedTemplate } from "../runs/templates.js";
import { compileSchema, oversize, runValidator, SCHEMA_LIMITS, type Validator } from "./json-schema.js";

type Verdict = { ok: true; nodes: number } | { ok: false; message: string; refused: boolean; nodes: number };

/**
 * Whether a schema compiles, by its canonical JSON: registering a run restates its schema
 * version (usually one already stored), and compiling every JSON Schema again on each run start
 * was most of the cost of a register. The verdict depends only on the schema; bounded LRU.
 */
const verdicts = new Map<string, Verdict>();
const VERDICTS_MAX = 2_000;

function schemaVerdict(schema: Record<string, unknown>): { verdict: Verdict; compiled: boolean } {
  const tooLarge = oversize(schema);
  if (tooLarge) return { verdict: { ok: false, message: tooLarge, refused: true, nodes: 0 }, compiled: false };
  const key = createHash("sha256").update(canonicalJson(schema)).digest("base64");
  const known = verdicts.get(key);
  if (known) {
    verdicts.delete(key);
    verdicts.set(key, known);
    return { verdict: known, compiled: false };
  }
  const compiled = compileSchema(schema);
  const verdict: Verdict = compiled.ok ? { ok: true, nodes: compiled.nodes } : { ok: false, message: compiled.message, refused: compiled.refused, nodes: compiled.nodes };
  verdicts.set(key, verdict);
  if (verdicts.size > VERDICTS_MAX) verdicts.delete(verdicts.keys().next().value!);
  return { verdict, compiled: true };
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
 * its validation result is stored with it (an invalid schema is kept, flagged, not rejected). A
 * schema past the limits of json-schema.ts, or with a pattern RE2 cannot run, is refused (400).
 * Compiling yields to other requests between schemas, so a large version never holds the loop for
 * more than one schema's compilation.
 */
export async function normalizeSpanTypes(content: SchemaVersionContent): Promise<{ spanTypes: Record<string, SpanTypeSchemaDetails>; contentHash: string }> {
  const spanTypes: Record<string, SpanTypeSchemaDetails> = {};
  let nodes = 0;
  const check = async (name: string, which: "params_schema" | "result_schema", schema: Record<string, unknown>) => {
    const { verdict, compiled } = schemaVerdict(schema);
    if (compiled) await new Promise((resolve) => setImmediate(resolve));
    nodes += verdict.nodes;
    if (nodes > SCHEMA_LIMITS.versionNodes) {
      throw new AppError("invalid_value", `span_type_schemas: the schemas of one version may have at most ${SCHEMA_LIMITS.versionNodes} subschemas together`);
    }
    if (verdict.ok) return { status: "success" } as const;
    if (verdict.refused) {
      const message = `span type '${name}': ${which} is refused: ${verdict.message}`;
      throw new AppError("invalid_value", message, { fields: [{ path: `span_type_schemas.${name}.${which}`, message: verdict.message }] });
    }
    return { status: "error", message: verdict.message } as const;
  };
  for (const t of spanTypesOf(content)) {
    const resultSchema = t.result_schema ?? {};
    spanTypes[t.name] = {
      name: t.name,
      title: t.title ?? t.name,
      description: t.description ?? null,
      template: t.template ?? null,
      params_schema: t.params_schema,
      result_schema: resultSchema,
      params_schema_validation: await check(t.name, "params_schema", t.params_schema),
      result_schema_validation: await check(t.name, "result_schema", resultSchema),
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

function validatorOf(schema: Record<string, unknown>): Validator | null {
  const compiled = compileSchema(schema);
  return compiled.ok ? compiled.validate : null;
}

/**
 * A span type's validators are compiled on first use, one schema at a time: the first span of a
 * version after a restart does not compile every schema of it at once.
 */
export class CompiledSpanType {
  readonly template: ParsedTemplate | null;
  readonly hasTemplate: boolean;
  private paramsValidator: Validator | null | undefined;
  private resultValidator: Validator | null | undefined;
  constructor(
    readonly title: string,
    private readonly schemas: { params: Record<string, unknown>; result: Record<string, unknown> },
    template: string | null,
  ) {
    this.template = template ? parseTemplate(template) : null;
    this.hasTemplate = Boolean(template);
  }

  get params(): Validator | null {
    if (this.paramsValidator === undefined) this.paramsValidator = validatorOf(this.schemas.params);
    return this.paramsValidator;
  }

  get result(): Validator | null {
    if (this.resultValidator === undefined) this.resultValidator = validatorOf(this.schemas.result);
    return this.resultValidator;
  }
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

export function validateAgainst(fn: Validator | null, value: unknown, target: "payload" | "result_payload"): ValidationIssue[] {
  if (!fn) return [{ path: "", message: `the span type's ${target === "payload" ? "params" : "result"}_schema is invalid, so it was not checked`, target: "schema" }];
  const outcome = runValidator(fn, value);
  if (!outcome.checked) return [{ path: "", message: `the ${target}: ${outcome.message}`, target: "schema" }];
  return issues(outcome.errors, target);
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
        out.set(name, new CompiledSpanType(t.title, { params: t.params_schema, result: t.result_schema }, t.template));
      }
      return out;
    });
    compiled.catch(() => this.versions.delete(schemaVersionId));
    this.versions.set(schemaVersionId, compiled);
    if (this.versions.size > MAX_CACHED_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    return compiled;
  }
}
