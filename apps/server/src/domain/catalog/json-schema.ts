import { _, Ajv, type ErrorObject, type KeywordCxt, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { RE2JS } from "re2js";
import { canonicalJson } from "../idempotency/service.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;

/**
 * Span type JSON Schemas come from tenants and run on the API's one event loop, so everything they
 * can make cost is bounded: their size at registration, and the work of each validation.
 */
export const SCHEMA_LIMITS = {
  /** JSON text of one schema. */
  bytes: 64 * 1024,
  /** Objects in one schema (subschemas and the objects of unknown keywords): Ajv compiles each in ~1-2 ms at load average 20 on 2 cores. */
  nodes: 250,
  /** Objects in all the schemas of one schema version together. */
  versionNodes: 5_000,
  /** Subschemas nested in one another. */
  depth: 32,
  /** `pattern`s and `patternProperties` keys in one schema (each RE2 compilation costs ~1-3 ms at load average 20 on 2 cores). */
  patterns: 100,
  /** Characters of one `pattern` or `patternProperties` key. */
  patternLength: 1_000,
} as const;

/**
 * Work units one validation may spend (one unit is about what applying a one-keyword subschema
 * to one value costs): past it, the payload is not judged rather than the event loop held.
 */
export const VALIDATION_BUDGET = 1_000_000;

class BudgetExceeded extends Error {}

/**
 * The units left to the validation running now. Outside a validation (schema compilation
 * validates against the meta-schemas) nothing is counted.
 */
const meter = {
  left: Infinity,
  over(): never {
    throw new BudgetExceeded();
  },
};

function spend(units: number): void {
  meter.left -= units;
  if (meter.left < 0) meter.over();
}

/**
 * Tenant regular expressions (`pattern`, `patternProperties`) run on RE2JS, a linear-time engine:
 * a backtracking engine lets `^(a+)+$` take seconds per character. RE2 has no lookaround and no
 * backreferences; a pattern it cannot compile is refused at registration. Matching is linear in
 * the input times the compiled program's size, which is what each test spends.
 */
function compilePattern(pattern: string): RE2JS {
  return precompiled?.get(pattern) ?? RE2JS.compile(RE2JS.translateRegExp(pattern));
}

/** The patterns of the schema being compiled, compiled once when it was checked. */
let precompiled: Map<string, RE2JS> | null = null;

const re2 = Object.assign(
  (pattern: string) => {
    const compiled = compilePattern(pattern);
    const size = compiled.programSize();
    return {
      test(input: string): boolean {
        spend(2 + Math.floor((input.length * size) / 512));
        return compiled.test(input);
      },
      // Ajv keys its compiled patterns by this string.
      toString: () => `/${pattern}/`,
    };
  },
  { code: "re2js" },
);

/** Whether every object in a JSON value already has its keys in sorted order. */
function keysSorted(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(keysSorted);
  if (value === null || typeof value !== "object") return true;
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!keysSorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * uniqueItems in linear time: Ajv compares every pair of items (40,000 objects took 26 s). Items
 * are equal as JSON values when their canonical JSON (sorted keys) is; that is JSON.stringify's
 * output when the keys are already sorted (3-5x cheaper than building it).
 */
function uniqueItems(schema: boolean, data: unknown[]): boolean {
  if (!schema) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = keysSorted(data[i]) ? JSON.stringify(data[i]) : canonicalJson(data[i]);
    spend(2 + key.length);
    const j = seen.get(key);
    if (j !== undefined) {
      uniqueItems.errors = [{ keyword: "uniqueItems", message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`, params: { i, j } }];
      return false;
    }
    seen.set(key, i);
  }
  return true;
}
uniqueItems.errors = [] as Partial<ErrorObject>[];

/** Injected into every object of a schema before compiling: each application spends its weight. */
const COST = "spyglass:cost";

function configure<T extends Ajv | Ajv2020>(ajv: T): T {
  addFormats(ajv);
  // Format checks are linear but not cheap per character (date-time and regex: 0.03-0.05 µs,
  // several times a subschema application's unit).
  for (const [name, format] of Object.entries(ajv.formats)) {
    const definition = format instanceof RegExp || typeof format === "function" ? { validate: format } : format;
    if (!definition || typeof definition !== "object" || ("type" in definition && definition.type !== "string")) continue;
    const check = definition.validate;
    const test = check instanceof RegExp ? (s: string) => check.test(s) : typeof check === "function" ? (check as (s: string) => boolean) : null;
    if (!test) continue;
    ajv.addFormat(name, {
      ...definition,
      type: "string",
      validate: (s: string) => {
        spend(1 + 4 * s.length);
        return test(s);
      },
    } as never);
  }
  ajv.removeKeyword("uniqueItems");
  ajv.addKeyword({ keyword: "uniqueItems", type: "array", schemaType: "boolean", validate: uniqueItems, errors: true });
  // Inline code, not a function keyword: this runs for every subschema applied to every value.
  ajv.addKeyword({
    keyword: COST,
    schemaType: "number",
    code(cxt: KeywordCxt) {
      const m = cxt.gen.scopeValue("obj", { ref: meter, key: meter, code: _`meter` });
      cxt.gen.if(_`(${m}.left -= ${cxt.schema as number}) < 0`, () => cxt.gen.code(_`${m}.over()`));
    },
  });
  return ajv;
}

// One compiler per draft. Schemas come from clients: never fetch remote $refs (no loadSchema), no
// $data (a pattern taken from the payload), tolerate unknown keywords, collect every error. The
// code optimizer is off: it made compiling a 500-property schema 5x slower, for no measurable gain.
const options = { allErrors: true, strict: false, validateSchema: true, $data: false, logger: false, code: { regExp: re2, optimize: false } } as const;
const draft07 = configure(new Ajv(options));
const draft2020 = configure(new Ajv2020(options));

/** Keywords whose value maps names to subschemas. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"]);
/** Keywords whose value is a JSON value, never a schema. */
const DATA = new Set(["enum", "const", "default", "examples"]);
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf", "prefixItems", "items"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Names like "__proto__" are ordinary properties of a parsed schema and must stay so in its copy.
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

class Refused extends Error {}

function checkPattern(pattern: string, at: string): void {
  if (pattern.length > SCHEMA_LIMITS.patternLength) {
    throw new Refused(`the pattern at ${at || "/"} is longer than ${SCHEMA_LIMITS.patternLength} characters`);
  }
  try {
    precompiled?.set(pattern, compilePattern(pattern));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Refused(
      `the pattern ${JSON.stringify(pattern.slice(0, 200))} at ${at || "/"} is not supported (${reason}): patterns are matched in linear time with RE2 syntax, which has no lookahead, lookbehind or backreferences`,
    );
  }
}

/**
 * A `#/...` reference must land on a subschema: one into `enum`, `const`, `default` or `examples`
 * would make Ajv compile a JSON value as a schema, which is not instrumented with its cost.
 */
function checkRef(ref: string, at: string): void {
  const hash = ref.indexOf("#");
  if (hash < 0 || ref[hash + 1] !== "/") return;
  let state: "schema" | "name" | "list" = "schema";
  for (const raw of ref.slice(hash + 2).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    } catch {
      return;
    }
    if (state === "name" || (state === "list" && /^\d+$/.test(segment))) {
      state = "schema";
      continue;
    }
    if (DATA.has(segment)) throw new Refused(`the $ref ${JSON.stringify(ref.slice(0, 200))} at ${at || "/"} points into '${segment}', which is not a schema`);
    state = SCHEMA_MAPS.has(segment) ? "name" : SCHEMA_LISTS.has(segment) ? "list" : "schema";
  }
}

/**
 * Checks a schema against SCHEMA_LIMITS and returns the copy that is compiled: every object
 * carries its cost (1 + its keys + the size of its enum/const values), so that each application
 * of a subschema, however it is reached ($ref recursion, anyOf over anyOf), counts.
 */
/** Why a schema is refused for its size alone (checked before anything else is done with it). */
export function oversize(schema: Record<string, unknown>): string | null {
  const bytes = JSON.stringify(schema).length;
  return bytes > SCHEMA_LIMITS.bytes ? `the schema is ${bytes} bytes of JSON; at most ${SCHEMA_LIMITS.bytes} are accepted` : null;
}

function prepare(schema: Record<string, unknown>): { schema: Record<string, unknown>; nodes: number } {
  const tooLarge = oversize(schema);
  if (tooLarge) throw new Refused(tooLarge);
  let nodes = 0;
  const patterns: [pattern: string, at: string][] = [];
  const walk = (node: unknown, depth: number, at: string): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => walk(item, depth, `${at}/${i}`));
    if (!isObject(node)) return node;
    if (++nodes > SCHEMA_LIMITS.nodes) throw new Refused(`the schema has more than ${SCHEMA_LIMITS.nodes} subschemas`);
    if (depth > SCHEMA_LIMITS.depth) throw new Refused(`subschemas are nested more than ${SCHEMA_LIMITS.depth} deep (at ${at})`);
    const copy: Record<string, unknown> = {};
    let weight = 1;
    for (const [key, value] of Object.entries(node)) {
      const here = `${at}/${key}`;
      weight += 1;
      if (DATA.has(key)) {
        put(copy, key, value);
        if (key === "enum" || key === "const") weight += JSON.stringify(value).length >> 2;
      } else if (SCHEMA_MAPS.has(key) && isObject(value)) {
        const map: Record<string, unknown> = {};
        for (const [name, sub] of Object.entries(value)) {
          if (key === "patternProperties") patterns.push([name, `${here}/${name}`]);
          put(map, name, walk(sub, depth + 1, `${here}/${name}`));
          weight += 1;
        }
        put(copy, key, map);
      } else {
        if (key === "pattern" && typeof value === "string") patterns.push([value, here]);
        if ((key === "$ref" || key === "$dynamicRef" || key === "$recursiveRef") && typeof value === "string") checkRef(value, here);
        put(copy, key, walk(value, depth + 1, here));
      }
    }
    put(copy, COST, weight);
    return copy;
  };
  const prepared = walk(schema, 0, "") as Record<string, unknown>;
  if (patterns.length > SCHEMA_LIMITS.patterns) throw new Refused(`the schema has ${patterns.length} patterns; at most ${SCHEMA_LIMITS.patterns} are accepted`);
  for (const [pattern, at] of patterns) checkPattern(pattern, at);
  return { schema: prepared, nodes };
}

export type Validator = ValidateFunction;

/** `nodes`: the schema's size in SCHEMA_LIMITS.nodes terms (0 when refused). */
export type Compiled = { ok: true; validate: Validator; nodes: number } | { ok: false; message: string; refused: boolean; nodes: number };

/**
 * Compiles a tenant schema. `refused`: it is past a limit or uses a pattern RE2 cannot run
 * (registration answers 400); otherwise a failure is an invalid JSON Schema (stored, flagged).
 */
export function compileSchema(schema: Record<string, unknown>): Compiled {
  precompiled = new Map();
  try {
    let prepared: { schema: Record<string, unknown>; nodes: number };
    try {
      prepared = prepare(schema);
    } catch (error) {
      if (error instanceof Refused) return { ok: false, message: error.message, refused: true, nodes: 0 };
      throw error;
    }
    const ajv = typeof schema.$schema === "string" && schema.$schema.includes("2020-12") ? draft2020 : draft07;
    try {
      return { ok: true, validate: ajv.compile(prepared.schema), nodes: prepared.nodes };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message.slice(0, 500) : "invalid JSON Schema", refused: false, nodes: prepared.nodes };
    } finally {
      // The compiled function stands alone; dropping Ajv's own cache entry keeps memory bounded
      // and lets two versions reuse one $id.
      ajv.removeSchema(prepared.schema);
    }
  } finally {
    precompiled = null;
  }
}

export type Outcome = { checked: true; errors: ErrorObject[] } | { checked: false; message: string };

/** Runs a compiled schema within VALIDATION_BUDGET; a validation that cannot finish is not judged. */
export function runValidator(validate: Validator, value: unknown): Outcome {
  meter.left = VALIDATION_BUDGET;
  try {
    return { checked: true, errors: validate(value) ? [] : (validate.errors ?? []) };
  } catch (error) {
    return {
      checked: false,
      message:
        error instanceof BudgetExceeded
          ? `checking it against the schema would take more than the ${VALIDATION_BUDGET} units of work a payload may use, so it was not checked`
          : "the schema could not be applied to it, so it was not checked",
    };
  } finally {
    meter.left = Infinity;
  }
}
