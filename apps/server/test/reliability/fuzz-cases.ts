/**
 * The requests the fuzz suite sends, derived from an OpenAPI operation: a fixed catalogue of
 * nasty inputs (one or more per category) and a fast-check arbitrary for random ones. No I/O here,
 * so the generator can be checked on its own against a synthetic document.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { MAX_JSON_DEPTH } from "../../src/http/body.js";
import { fillPath, leavesOf, sampleValue, withLeaf, type Leaf, type Operation, type OpenApiLike } from "../helpers/openapi.js";

/** Per operation, how many body nodes get the per-field mutations. */
const MAX_LEAVES = 20;
/** Node's HTTP parser answers 431 by itself past 16 KB of request head; stay below. */
export const MAX_URL = 12_000;

export type Auth = "admin" | "none" | "garbage";

export interface Case {
  category: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The status the shared HTTP layer guarantees for this input, when it is one exact status. */
  exact?: number;
}

// ---------------------------------------------------------------------------------------------
// Bodies that JSON.stringify cannot write (1e309, -0, 2^64, raw fragments) go through RawJson.

export class RawJson {
  constructor(readonly text: string) {}
}

export function jsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `@@RAW:${raws.length - 1}@@`;
    }
    return v;
  });
  return (text ?? "null").replace(/"@@RAW:(\d+)@@"/g, (_, i: string) => raws[Number(i)]!);
}

const jsonBytes = (value: unknown) => Buffer.from(jsonText(value), "utf8");

const PROTO_KEYS = new RawJson('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}');

const BAD_NUMBERS = ["1e308", "-1e308", "1e309", "-1e309", "-0", '"NaN"', '"Infinity"', "18446744073709551616", "-9223372036854775809", "1e-400", "0.5", "-1", "9007199254740993", "123456789012345678901234567890"].map(
  (t) => new RawJson(t),
);

const BAD_TIMESTAMPS: unknown[] = [
  "2024-13-45T99:99:99Z",
  "not a date",
  "",
  "0000-00-00T00:00:00Z",
  "+275760-09-13T00:00:00.001Z",
  "-271821-04-20T00:00:00Z",
  "2024-01-01",
  "2024-01-01T00:00:00",
  "9999-12-31T23:59:59.999999999Z",
  "1970-01-01T00:00:00+25:00",
  "2024-02-30T00:00:00Z",
  1e15,
  -1,
  new RawJson("1e309"),
];

export const PATH_VALUES = [
  "../",
  "../../../etc/passwd",
  ".",
  "..",
  "ü🙂 spaces",
  "a".repeat(10_000),
  "🙂".repeat(400),
  "%FF",
  "%",
  "\u0000",
  "'; DROP TABLE api_tokens; --",
  "{id}",
  "null",
  "-1",
  "0",
  "1e308",
  "00000000000000000000000000000000",
  "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
];
/** Sent as they are, not encoded: the server decodes (or refuses) them itself. */
export const RAW_PATH_VALUES = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f", "%FF", "%", "%E0%A4%A", "%ED%A0%80", "%C0%AF", "%00", "a%2Fb", "..;/", "~root"];

const QUERY_VALUES = ["abc", "-1", "0", "1e308", "99999999999999999999999", "NaN", "", "x".repeat(8_000), "%FF", "%00", "2024-13-45T99:99:99Z"];
const QUERY_EXTRAS = [
  "__proto__[polluted]=yes",
  "constructor[prototype][polluted]=yes",
  "a[__proto__][polluted]=yes",
  "pagination[page_size]=1000000",
  "pagination[offset]=-5",
  "pagination[offset]=1e308",
  "page_size=1000000",
  "page=-1",
  "page=99999999999999999999",
  "sorting=-__proto__",
  "toString=x&valueOf=y&hasOwnProperty=z",
  "sorting[field]=constructor&sorting[direction]=sideways",
  "a[",
  "%FF=%FF",
  "a[b][c][d][e][f][g][h]=1",
  // More parameters than the query parser keeps (1000).
  Array.from({ length: 1100 }, (_, i) => `p${i}=1`).join("&"),
];

const CONTENT_TYPES: Array<{ type?: string; body: (base: unknown) => Buffer; exact?: number }> = [
  { type: "text/plain", body: (b) => jsonBytes(b) },
  { type: "application/x-www-form-urlencoded", body: () => Buffer.from("details[name]=x&__proto__[polluted]=yes") },
  { type: "multipart/form-data; boundary=xyz", body: () => Buffer.from('--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n') },
  { type: "application/xml", body: () => Buffer.from("<details><name>x</name></details>") },
  { type: undefined, body: (b) => jsonBytes(b) },
  { type: "application/octet-stream", body: () => Buffer.from([0, 1, 2, 255]) },
  { type: "application/json; charset=utf-16", body: (b) => Buffer.from(jsonText(b), "utf16le"), exact: 400 },
  { type: "application/json; charset=iso-8859-1", body: (b) => jsonBytes(b), exact: 400 },
  { type: "application/json; charset=nonsense", body: (b) => jsonBytes(b), exact: 400 },
  { type: "Application/JSON", body: (b) => jsonBytes(b) },
];

// ---------------------------------------------------------------------------------------------
// The fixed catalogue.

export interface Prepared {
  op: Operation;
  pathValues: Record<string, string>;
  path: string;
  query: string;
  base: unknown;
  leaves: Leaf[];
  api: boolean;
}

export function prepare(op: Operation, doc: OpenApiLike): Prepared {
  const pathValues = Object.fromEntries(op.pathParams.map((p) => [p.name, String(sampleValue(p.schema, doc))]));
  const query = op.queryParams
    .filter((p) => p.required)
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(sampleValue(p.schema, doc)))}`)
    .join("&");
  const base = op.body ? sampleValue(op.body, doc) : { details: { name: "fuzz" } };
  return {
    op,
    pathValues,
    path: fillPath(op.path, pathValues),
    query,
    base,
    leaves: leavesOf(base, op.body, doc).slice(0, MAX_LEAVES),
    api: op.dialect !== "system",
  };
}

const withQuery = (path: string, query: string) => (query ? `${path}?${query}` : path);

function wrongTypeFor(value: unknown): unknown[] {
  if (typeof value === "string") return [12345, true, ["x"], { x: 1 }];
  if (typeof value === "number") return ["abc", "1", false, [1]];
  if (typeof value === "boolean") return ["yes", "true", 1, null];
  if (Array.isArray(value)) return [{ 0: value[0] }, "x", 1];
  if (value && typeof value === "object") return ["text", [], 0];
  return ["x", 1, {}];
}

/** All of `values` for the first field, then three at a time, rotating. */
function rotating<T>(values: T[], fieldIndex: number): T[] {
  if (fieldIndex === 0) return values;
  return [0, 1, 2].map((k) => values[(fieldIndex * 3 + k) % values.length]!);
}

function looksLikeTime(leaf: Leaf): boolean {
  const name = String(leaf.path[leaf.path.length - 1] ?? "");
  return leaf.schema.format === "date-time" || leaf.schema.format === "date" || /(_at|time|timestamp|start|end|date|before|after)$/i.test(name);
}

const ONE_MB = "x".repeat(1024 * 1024 - 64);
const oversizedByLimit = new Map<number, { plain: Buffer; gzipBomb: Buffer }>();

/** Bodies over the limit, built once: as is, and as a small gzip stream inflating to 8x the limit. */
function oversized(limit: number): { plain: Buffer; gzipBomb: Buffer } {
  let bodies = oversizedByLimit.get(limit);
  if (!bodies) {
    bodies = { plain: jsonBytes({ blob: "x".repeat(limit + 1024) }), gzipBomb: gzipSync(Buffer.alloc(limit * 8, 0x20)) };
    oversizedByLimit.set(limit, bodies);
  }
  return bodies;
}

// ---------------------------------------------------------------------------------------------
// Hostile schemas and templates: CPU bombs a tenant can register and set off (issue 19). The
// payloads stay small, so what a request costs is the bomb's, not its body's.

export interface HostileSpanType {
  name: string;
  params_schema: Record<string, unknown>;
  template?: string;
  payloads: unknown[];
}

const nestedArrays = (depth: number): unknown => (depth === 0 ? [] : [nestedArrays(depth - 1)]);
const recursive = { oneOf: [{ type: "array", items: { $ref: "#/definitions/n" } }, { type: "array", items: { $ref: "#/definitions/n" } }] };
const evil = "a".repeat(31) + "!";

/** Span types within the registration limits that held the loop for seconds before, with their payloads. */
export const HOSTILE_SPAN_TYPES: HostileSpanType[] = [
  { name: "redos-pattern", params_schema: { properties: { s: { type: "string", pattern: "^(a+)+$" } } }, payloads: [{ s: evil }, { s: "a".repeat(50_000) + "!" }] },
  { name: "redos-pattern-properties", params_schema: { patternProperties: { "^(a+)+$": { type: "number" } } }, payloads: [{ [evil]: 1 }] },
  { name: "big-program", params_schema: { properties: { s: { pattern: "^(a?){500}a{500}$" } } }, payloads: [{ s: "a".repeat(200_000) }] },
  { name: "unique-items", params_schema: { properties: { xs: { uniqueItems: true } } }, payloads: [{ xs: Array.from({ length: 20_000 }, (_, i) => ({ i })) }] },
  { name: "ref-recursion", params_schema: { properties: { t: { $ref: "#/definitions/n" } }, definitions: { n: recursive } }, payloads: [{ t: nestedArrays(60) }] },
  { name: "applicator-fanout", params_schema: { properties: { xs: { items: { allOf: Array.from({ length: 200 }, (_, i) => ({ minimum: -i })) } } } }, payloads: [{ xs: Array.from({ length: 20_000 }, () => 1) }] },
  { name: "formats", params_schema: { properties: { a: { format: "date-time" }, b: { format: "regex" }, c: { format: "uri" }, d: { format: "email" } } }, payloads: [{ a: " ".repeat(100_000), b: "a.".repeat(50_000), c: `http://${"a".repeat(100_000)}!`, d: `${"a".repeat(50_000)}@${"a.".repeat(25_000)}!` }] },
  { name: "liquid-sort", params_schema: {}, template: '{{ s | split: "" | sort | join: "," | size }}', payloads: [{ s: "ab".repeat(500_000) }] },
  { name: "liquid-loop", params_schema: {}, template: '{% for i in (1..100000) %}{% assign x = s | split: "" | sort | join: "" | append: x %}{% endfor %}{{ x | size }}', payloads: [{ s: "ba".repeat(5_000) }] },
  { name: "liquid-blowup", params_schema: {}, template: '{% assign a = xs %}{% for i in (1..40) %}{% assign a = a | concat: a %}{% endfor %}{{ a | sort | size }}', payloads: [{ xs: Array.from({ length: 1_000 }, (_, i) => i) }] },
];

/** Schemas that registration refuses (400): past a limit, or a pattern RE2 cannot run. */
export const REFUSED_SCHEMAS: Record<string, unknown>[] = [
  { properties: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, { type: "string" }])) },
  { anyOf: Array.from({ length: 2_000 }, () => ({})) },
  nestedItems(100),
  { properties: { s: { pattern: "^(?=a)(a+)+$" } } },
  { patternProperties: { "(a+)\\1": {} } },
  { patternProperties: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`^(a+)+${i}$`, {}])) },
  { $ref: "#/enum/0", enum: [{ anyOf: [{ $ref: "#/enum/0" }, { $ref: "#/enum/0" }] }] },
];

function nestedItems(depth: number): Record<string, unknown> {
  return depth === 0 ? {} : { items: nestedItems(depth - 1) };
}

const REGISTER_PATH = "/api/v1/agent_instance/register";
const SPANS_PATH = "/api/v1/agent_spans";

function hostileCases(p: Prepared, hostileRun: string | undefined, add: (category: string, body: Buffer, exact: number) => void): void {
  if (p.op.method !== "post") return;
  if (p.path === REGISTER_PATH) {
    REFUSED_SCHEMAS.forEach((schema, i) => {
      const version = { external_identifier: `refused-${i}`, span_type_schemas: [{ name: "x", params_schema: schema }] };
      add("hostile schema", jsonBytes({ agent_version: { name: "fuzz-hostile", external_identifier: "refused" }, agent_schema_version: version }), 400);
    });
  }
  if (p.path === SPANS_PATH && hostileRun) {
    for (const t of HOSTILE_SPAN_TYPES) {
      for (const payload of t.payloads) {
        const body = { details: { agent_instance_id: hostileRun, schema_name: t.name, status: "active", payload } };
        add(t.template ? "hostile template" : "hostile schema", jsonBytes(body), 200);
      }
    }
  }
}

/** `hostileRun`: a started run registered with HOSTILE_SPAN_TYPES, for the span cases that set them off. */
export function catalogue(p: Prepared, limits: { token: string; bodyLimit: number; hostileRun?: string }): Array<{ c: Case; auths: Auth[] }> {
  const { token, bodyLimit } = limits;
  const { op, base, leaves } = p;
  const method = op.method.toUpperCase();
  const url = withQuery(p.path, p.query);
  const json = { "Content-Type": "application/json" };
  const out: Array<{ c: Case; auths: Auth[] }> = [];
  const both: Auth[] = ["admin", "none"];
  const admin: Auth[] = ["admin"];
  const add = (category: string, body: Buffer | undefined, auths: Auth[], extra: Partial<Case> = {}) =>
    out.push({ c: { category, method, path: url, headers: body ? json : {}, body, ...extra }, auths });
  const exact = (status: number) => (p.api ? { exact: status } : {});

  // The well-formed request the others are variations of.
  add("baseline", op.body || op.method !== "get" ? jsonBytes(base) : undefined, ["admin", "none", "garbage"]);

  for (const text of ['{"details": ', "{'a': 1}", "[1, 2,", '{"a": 1}}', "nul", '{"a": 01}', '{"a": "\u0007"}', '{"a": 1,}', '"just a string"', "42", "null", "true", "\u0000", "{\"a\":\"\\x41\"}"]) {
    add("malformed JSON", Buffer.from(text), both, exact(400));
  }

  const deepArrays = "[".repeat(10_000) + "]".repeat(10_000);
  const deepObjects = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
  add("10,000-level nesting", Buffer.from(deepArrays), both, exact(400));
  add("10,000-level nesting", Buffer.from(deepObjects), both, exact(400));
  const firstLeaf = leaves[0]?.path;
  if (firstLeaf) add("10,000-level nesting", jsonBytes(withLeaf(base, firstLeaf, new RawJson(deepArrays))), admin, exact(400));
  add("nesting at the limit", Buffer.from("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)), admin);
  if (firstLeaf) add("nesting at the limit", jsonBytes(withLeaf(base, firstLeaf, new RawJson("[".repeat(MAX_JSON_DEPTH - firstLeaf.length) + "]".repeat(MAX_JSON_DEPTH - firstLeaf.length)))), admin);

  const utf8Bad = [[0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]];
  for (const bytes of utf8Bad) {
    add("invalid UTF-8", Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]), both, exact(400));
  }
  const baseText = jsonBytes(base);
  const quote = baseText.indexOf(0x22);
  if (quote >= 0) add("invalid UTF-8", Buffer.concat([baseText.subarray(0, quote + 1), Buffer.from([0xff]), baseText.subarray(quote + 1)]), admin, exact(400));

  let unstorable = base;
  for (const leaf of leaves) if (typeof leaf.value === "string") unstorable = withLeaf(unstorable, leaf.path, "nul\u0000 lone\ud800 \udc00 pair\ud83d\ude00");
  add("NUL and lone surrogates", jsonBytes(unstorable), admin);
  add("NUL and lone surrogates", Buffer.from('{"\\u0000":"\\u0000","\\ud800":["\\udfff"]}'), admin);

  const mb = ONE_MB;
  const firstString = leaves.find((l) => typeof l.value === "string")?.path;
  add("1 MB string", jsonBytes(firstString ? withLeaf(base, firstString, mb) : { ...(base as object), blob: mb }), admin);
  add("1 MB key", jsonBytes({ [mb]: 1 }), admin);
  const firstArray = leaves.find((l) => Array.isArray(l.value))?.path;
  const hugeArray = Array.from({ length: 100_000 }, (_, i) => i);
  add("100,000-element array", jsonBytes(firstArray ? withLeaf(base, firstArray, hugeArray) : { ...(base as object), items: hugeArray }), admin);
  add("100,000-element array", jsonBytes(Array.from({ length: 100_000 }, () => ({}))), admin);

  add("over the body limit", oversized(bodyLimit).plain, both, exact(413));
  add("over the body limit", oversized(bodyLimit).gzipBomb, both, { ...exact(413), headers: { ...json, "Content-Encoding": "gzip" } });
  add("bad compression", Buffer.from("this is not gzip"), both, { ...exact(400), headers: { ...json, "Content-Encoding": "gzip" } });
  // OTLP answers an encoding it does not speak with 415, as its specification (and RFC 9110) says;
  // the two JSON dialects keep the 400 their clients know.
  add("bad compression", jsonBytes(base), both, { ...exact(op.dialect === "otlp" ? 415 : 400), headers: { ...json, "Content-Encoding": "compress" } });

  for (const ct of CONTENT_TYPES) {
    add("wrong content type", ct.body(base), both, { headers: ct.type ? { "Content-Type": ct.type } : {}, ...(ct.exact && p.api ? { exact: ct.exact } : {}) });
  }

  add("prototype keys", jsonBytes(PROTO_KEYS), both);
  if (base && typeof base === "object" && !Array.isArray(base)) {
    const rest = jsonText(base).slice(1);
    add("prototype keys", Buffer.from(`{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${rest === "}" ? '"x":1}' : rest}`), admin);
  }
  for (const leaf of leaves.filter((l) => l.value && typeof l.value === "object" && !Array.isArray(l.value))) {
    add("prototype keys", jsonBytes(withLeaf(base, leaf.path, PROTO_KEYS)), admin);
  }

  add("missing fields", jsonBytes({}), both);
  add("missing fields", jsonBytes([]), admin);
  add("extra fields", jsonBytes([base]), admin);
  add("extra fields", jsonBytes({ ...(base as object), unexpected_field: 1, details_: {} }), admin);
  // Every bad number goes into the first numeric field and every bad timestamp into the first
  // time field; later fields get a rotating few, which keeps the request count linear in fields.
  let numericFields = 0;
  let timeFields = 0;
  for (const leaf of leaves) {
    add("missing fields", jsonBytes(withLeaf(base, leaf.path, undefined, true)), admin);
    add("wrong types", jsonBytes(withLeaf(base, leaf.path, null)), admin);
    for (const wrong of wrongTypeFor(leaf.value)) add("wrong types", jsonBytes(withLeaf(base, leaf.path, wrong)), admin);
    if (leaf.value && typeof leaf.value === "object" && !Array.isArray(leaf.value)) {
      add("extra fields", jsonBytes(withLeaf(base, leaf.path, { ...(leaf.value as object), unexpected_field: "x" })), admin);
    }
    if (typeof leaf.value === "number" || leaf.schema.type === "number" || leaf.schema.type === "integer") {
      for (const n of rotating(BAD_NUMBERS, numericFields++)) add("numbers out of range", jsonBytes(withLeaf(base, leaf.path, n)), admin);
    }
    if (looksLikeTime(leaf)) {
      for (const t of rotating(BAD_TIMESTAMPS, timeFields++)) add("invalid timestamps", jsonBytes(withLeaf(base, leaf.path, t)), admin);
    }
    if (typeof leaf.value === "string") add("wrong types", jsonBytes(withLeaf(base, leaf.path, "")), admin);
  }
  if (!numericFields) {
    for (const n of BAD_NUMBERS) add("numbers out of range", jsonBytes({ ...(base as object), n }), admin);
  }

  // Ids and other path parameters.
  const bodyFor = op.body ? jsonBytes(base) : undefined;
  const headersFor = bodyFor ? json : {};
  for (const param of op.pathParams) {
    for (const v of PATH_VALUES) {
      const path = withQuery(fillPath(op.path, { ...p.pathValues, [param.name]: v }), p.query);
      out.push({ c: { category: "invalid ids", method, path, headers: headersFor, body: bodyFor, exact: v === "\u0000" ? 400 : undefined }, auths: both });
    }
    for (const v of RAW_PATH_VALUES) {
      const path = withQuery(fillPath(op.path, { ...p.pathValues, [param.name]: v }, true), p.query);
      out.push({ c: { category: "invalid ids", method, path, headers: headersFor, body: bodyFor }, auths: both });
    }
  }
  if (!op.pathParams.length) {
    for (const v of RAW_PATH_VALUES.slice(0, 4)) out.push({ c: { category: "invalid ids", method, path: withQuery(`${p.path}/${v}`, p.query), headers: headersFor, body: bodyFor }, auths: admin });
  }

  // Query strings.
  for (const param of op.queryParams) {
    for (const v of QUERY_VALUES) {
      const q = [p.query, `${encodeURIComponent(param.name)}=${v.startsWith("%") ? v : encodeURIComponent(v)}`].filter(Boolean).join("&");
      out.push({ c: { category: "bad query", method, path: `${p.path}?${q}`, headers: headersFor, body: bodyFor }, auths: admin });
    }
    const n = encodeURIComponent(param.name);
    for (const shape of [`${n}[]=1&${n}[]=2`, `${n}[a]=1`, `${n}[a][b][c][d][e][f][g]=1`, `${n}=1&${n}=2`, `${n}[__proto__][polluted]=yes`]) {
      out.push({ c: { category: "bad query", method, path: `${p.path}?${[p.query, shape].filter(Boolean).join("&")}`, headers: headersFor, body: bodyFor }, auths: admin });
    }
  }
  for (const extra of QUERY_EXTRAS) {
    out.push({ c: { category: "bad query", method, path: `${p.path}?${[p.query, extra].filter(Boolean).join("&")}`, headers: headersFor, body: bodyFor }, auths: both });
  }

  // Authorization headers that are not a bearer token, or not a sane one.
  for (const value of ["Bearer", "Bearer  ", "Bearer a b", "Basic dXNlcjpwYXNz", `Bearer ${"x".repeat(8_000)}`, "Bearer \u00ff\u00fe", `bearer ${token}x`, `Token ${token}`]) {
    out.push({ c: { category: "bad Authorization header", method, path: url, headers: { ...headersFor, Authorization: value }, body: bodyFor }, auths: ["none"] });
  }
  hostileCases(p, limits.hostileRun, (category, body, status) => add(category, body, admin, { exact: status }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random cases.

const rawNumberArb = fc.oneof(
  fc.constantFrom(...BAD_NUMBERS),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => new RawJson(n.toString())),
  fc.double().map((d) => (Number.isFinite(d) ? d : new RawJson(String(d).replace("Infinity", "1e999")))),
);

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 300 }), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 50 }), weight: 2 },
  { arbitrary: rawNumberArb, weight: 3 },
  { arbitrary: fc.constantFrom(...BAD_TIMESTAMPS), weight: 2 },
  { arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), weight: 1 },
  { arbitrary: fc.constantFrom<unknown>(PROTO_KEYS, null, true, [], {}, "", "__proto__", "constructor"), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => "y".repeat(n)), weight: 1 },
);

const binaryString = (max: number) => fc.string({ unit: "binary", maxLength: max });

function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return "%ED%A0%80";
  }
}

export function randomCaseArb(p: Prepared): fc.Arbitrary<{ c: Case; auth: Auth }> {
  const { op, base, leaves } = p;
  const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
    leaves.length
      ? fc.tuple(fc.nat(leaves.length - 1), valueArb).map(([i, v]) => jsonBytes(withLeaf(base, leaves[i]!.path, v)))
      : valueArb.map((v) => jsonBytes({ details: v })),
    leaves.length
      ? fc.nat(leaves.length - 1).map((i) => jsonBytes(withLeaf(base, leaves[i]!.path, undefined, true)))
      : fc.constant(jsonBytes({})),
    fc.dictionary(binaryString(20), valueArb, { maxKeys: 8 }).map((o) => jsonBytes({ ...(base as object), ...o })),
    fc.jsonValue({ maxDepth: 6 }).map((v) => jsonBytes(v)),
    fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a)),
    binaryString(2_000).map((s) => Buffer.from(s)),
    fc.constant(undefined),
  );
  const paramNames = [...op.queryParams.map((q) => q.name), "pagination[page_size]", "pagination[offset]", "sorting", "page", "page_size", "__proto__[polluted]"];
  const queryArb = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...paramNames), binaryString(10)), fc.oneof(fc.constantFrom(...QUERY_VALUES), binaryString(50))), {
    maxLength: 6,
  });
  const contentTypeArb = fc.oneof(
    { arbitrary: fc.constant("application/json"), weight: 8 },
    { arbitrary: fc.constantFrom("text/plain", "application/json; charset=latin1", "application/x-www-form-urlencoded", "application/json;charset=UTF-8", ""), weight: 2 },
  );
  return fc
    .record({
      auth: fc.constantFrom<Auth>("admin", "admin", "admin", "none", "garbage"),
      pathValues: op.pathParams.length ? fc.tuple(...op.pathParams.map(() => fc.oneof(binaryString(200), fc.constantFrom(...PATH_VALUES)))) : fc.constant([] as string[]),
      keepPath: fc.boolean(),
      query: queryArb,
      body: bodyArb,
      contentType: contentTypeArb,
    })
    .map(({ auth, pathValues, keepPath, query, body, contentType }) => {
      const values = keepPath ? p.pathValues : Object.fromEntries(op.pathParams.map((param, i) => [param.name, pathValues[i]!]));
      const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeSegment(values[name] ?? "x"));
      // Node refuses request heads over 16 KB itself (431, no body; tested on its own below).
      const pairs = query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`);
      while (pairs.length && path.length + pairs.join("&").length > MAX_URL) pairs.pop();
      const q = [p.query, ...pairs].filter(Boolean).join("&");
      const headers: Record<string, string> = contentType && body ? { "Content-Type": contentType } : {};
      return { c: { category: "random", method: op.method.toUpperCase(), path: withQuery(path, q), headers, body }, auth };
    });
}

