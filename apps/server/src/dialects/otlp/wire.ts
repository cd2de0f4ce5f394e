import { createRequire } from "node:module";
import protobuf from "protobufjs";
import type { OtlpExportTraceServiceResponse, OtlpStatus } from "@spyglass/contracts";
import { OTLP_MAX_SPANS_PER_REQUEST } from "@spyglass/contracts";
import { AppError } from "../../domain/shared/app-error.js";
import type { OtelAttributes, OtelSpan, OtelValue } from "../../domain/traces/otel.js";

// The two OTLP/HTTP encodings to the domain's OtelSpan, and the answers back. Protobuf is decoded
// by protobufjs with the message classes generated from the official opentelemetry-proto
// definitions (shipped in @opentelemetry/otlp-transformer); JSON follows OTLP/JSON's rules (hex
// ids, enums as integers, 64-bit integers as strings or numbers).

interface Root {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: protobuf.Type; ExportTraceServiceResponse: protobuf.Type } } } } };
}
const generated = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as Root;
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = generated.opentelemetry.proto.collector.trace.v1;

/** google.rpc.Status (googleapis google/rpc/status.proto) without its details, which are never sent. */
const RpcStatus = new protobuf.Type("Status").add(new protobuf.Field("code", 1, "int32")).add(new protobuf.Field("message", 2, "string"));
new protobuf.Root().define("google.rpc").add(RpcStatus);

export type Encoding = "protobuf" | "json";

/** Nesting of attribute values (arrays, key-value lists) deeper than this is refused. */
const MAX_VALUE_DEPTH = 32;

const bad = (message: string) => new AppError("bad_request", message);

const NUL = /\u0000/g;
const clean = (s: string) => (s.indexOf("\u0000") === -1 ? s : s.replace(NUL, "\ufffd"));

type Int64 = number | string | { toString(): string; low: number; high: number; unsigned: boolean };

/** A 64-bit integer of either encoding as decimal text; null when it is not one. */
function int64Text(value: unknown, unsigned: boolean): string | null {
  if (value === undefined || value === null || value === "") return "0";
  if (typeof value === "number") return Number.isSafeInteger(value) && (!unsigned || value >= 0) ? String(value) : null;
  if (typeof value === "string") return /^-?\d{1,20}$/.test(value) && (!unsigned || !value.startsWith("-")) ? BigInt(value).toString() : null;
  if (typeof value === "object" && "low" in (value as object)) return (value as { toString(): string }).toString();
  return null;
}

function intValue(value: unknown, path: string): number | string {
  const textual = int64Text(value as Int64, false);
  if (textual === null) throw bad(`${path}: not a 64-bit integer`);
  const n = Number(textual);
  return Number.isSafeInteger(n) ? n : textual;
}

/** Reads the encodings' differences: ids (bytes or hex) and which AnyValue member is set. */
interface Dialect {
  id(value: unknown, bytes: number, path: string, optional: boolean): string | null;
  anyValueKind(value: Record<string, unknown>): string | undefined;
  bytes(value: unknown): string;
  enumValue(value: unknown, names: readonly string[], path: string): number;
}

const ZERO = /^0+$/;

const protobufDialect: Dialect = {
  id(value, bytes, path, optional) {
    const b = value instanceof Uint8Array ? value : new Uint8Array();
    if (b.length === 0 && optional) return null;
    if (b.length !== bytes) throw bad(`${path}: must be ${bytes} bytes (got ${b.length})`);
    const hex = Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
    if (ZERO.test(hex)) throw bad(`${path}: must not be all zero`);
    return hex;
  },
  // protobufjs sets a oneof's virtual property to the name of the member that is set.
  anyValueKind: (value) => value.value as string | undefined,
  bytes: (value) => Buffer.from(value as Uint8Array).toString("base64"),
  enumValue: (value) => (typeof value === "number" ? value : 0),
};

const jsonDialect: Dialect = {
  id(value, bytes, path, optional) {
    if ((value === undefined || value === null || value === "") && optional) return null;
    if (typeof value !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) {
      throw bad(`${path}: must be ${bytes * 2} hex digits`);
    }
    if (ZERO.test(value)) throw bad(`${path}: must not be all zero`);
    return value.toLowerCase();
  },
  anyValueKind: (value) => ANY_VALUE_KINDS.find((k) => value[k] !== undefined && value[k] !== null),
  bytes: (value) => (typeof value === "string" ? value : ""),
  enumValue(value, names, path) {
    if (value === undefined || value === null) return 0;
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
    if (typeof value === "string" && names.includes(value)) return names.indexOf(value);
    throw bad(`${path}: not a valid enum value`);
  },
};

const ANY_VALUE_KINDS = ["stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"] as const;
const SPAN_KIND_NAMES = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"] as const;
const STATUS_CODE_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"] as const;

type Loose = Record<string, unknown>;
const obj = (value: unknown): Loose => (value && typeof value === "object" ? (value as Loose) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string => (typeof value === "string" ? clean(value) : "");

function anyValue(d: Dialect, raw: unknown, path: string, depth: number): OtelValue {
  if (depth > MAX_VALUE_DEPTH) throw bad(`${path}: attribute values nest deeper than ${MAX_VALUE_DEPTH} levels`);
  const v = obj(raw);
  switch (d.anyValueKind(v)) {
    case "stringValue":
      return str(v.stringValue);
    case "boolValue":
      return v.boolValue === true;
    case "intValue":
      return intValue(v.intValue, path);
    case "doubleValue": {
      const n = Number(v.doubleValue);
      // JSON has no NaN or Infinity: kept as their names.
      return Number.isFinite(n) ? n : String(v.doubleValue);
    }
    case "arrayValue":
      return list(obj(v.arrayValue).values).map((x, i) => anyValue(d, x, `${path}[${i}]`, depth + 1));
    case "kvlistValue":
      return attributes(d, obj(v.kvlistValue).values, path, depth + 1);
    case "bytesValue":
      return d.bytes(v.bytesValue);
    default:
      return null;
  }
}

function attributes(d: Dialect, raw: unknown, path: string, depth = 0): OtelAttributes {
  const out: OtelAttributes = {};
  for (const kv of list(raw)) {
    const { key, value } = obj(kv);
    const name = str(key);
    out[name] = anyValue(d, value, `${path}.${name}`, depth + 1);
  }
  return out;
}

function time(value: unknown, path: string): string {
  const t = int64Text(value as Int64, true);
  if (t === null) throw bad(`${path}: not a time in nanoseconds`);
  return t;
}

/** The spans of an ExportTraceServiceRequest (decoded message or parsed JSON) as the domain reads them. */
function spansOf(d: Dialect, request: unknown): OtelSpan[] {
  const spans: OtelSpan[] = [];
  list(obj(request).resourceSpans).forEach((rs, r) => {
    const resource = attributes(d, obj(obj(rs).resource).attributes, `resourceSpans[${r}].resource`);
    list(obj(rs).scopeSpans).forEach((ss, s) => {
      const scope = obj(obj(ss).scope);
      const scopeInfo = { name: str(scope.name), version: str(scope.version) };
      list(obj(ss).spans).forEach((raw, i) => {
        const path = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        if (spans.length >= OTLP_MAX_SPANS_PER_REQUEST) {
          throw new AppError("payload_too_large", `at most ${OTLP_MAX_SPANS_PER_REQUEST} spans per export`);
        }
        const span = obj(raw);
        const status = obj(span.status);
        spans.push({
          traceId: d.id(span.traceId, 16, `${path}.traceId`, false)!,
          spanId: d.id(span.spanId, 8, `${path}.spanId`, false)!,
          parentSpanId: d.id(span.parentSpanId, 8, `${path}.parentSpanId`, true),
          name: str(span.name),
          kind: d.enumValue(span.kind, SPAN_KIND_NAMES, `${path}.kind`),
          startTimeUnixNano: time(span.startTimeUnixNano, `${path}.startTimeUnixNano`),
          endTimeUnixNano: time(span.endTimeUnixNano, `${path}.endTimeUnixNano`),
          attributes: attributes(d, span.attributes, `${path}.attributes`),
          events: list(span.events).map((e, j) => ({
            name: str(obj(e).name),
            timeUnixNano: time(obj(e).timeUnixNano, `${path}.events[${j}].timeUnixNano`),
            attributes: attributes(d, obj(e).attributes, `${path}.events[${j}].attributes`),
          })),
          links: list(span.links).map((l, j) => ({
            traceId: d.id(obj(l).traceId, 16, `${path}.links[${j}].traceId`, false)!,
            spanId: d.id(obj(l).spanId, 8, `${path}.links[${j}].spanId`, false)!,
            attributes: attributes(d, obj(l).attributes, `${path}.links[${j}].attributes`),
          })),
          status: { code: d.enumValue(status.code, STATUS_CODE_NAMES, `${path}.status.code`), message: str(status.message) },
          traceState: str(span.traceState),
          resource,
          scope: scopeInfo,
        });
      });
    });
  });
  return spans;
}

export function decodeProtobuf(body: Buffer): OtelSpan[] {
  let message: unknown;
  try {
    message = ExportTraceServiceRequest.decode(body);
  } catch (error) {
    // Truncated or garbled bytes, a wrong wire type, or a message nested past the stack.
    throw bad(`undecodable ExportTraceServiceRequest: ${error instanceof Error ? error.message.slice(0, 200) : "invalid protobuf"}`);
  }
  return spansOf(protobufDialect, message);
}

/** `body` is parsed JSON (the shared body parser checked its text, depth and NULs). */
export function decodeJson(body: unknown): OtelSpan[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw bad("an ExportTraceServiceRequest must be a JSON object");
  return spansOf(jsonDialect, body);
}

export function encodeResponse(encoding: Encoding, response: OtlpExportTraceServiceResponse): Buffer | OtlpExportTraceServiceResponse {
  if (encoding === "json") return response;
  const partial = response.partialSuccess;
  const message = partial ? { partialSuccess: { rejectedSpans: Number(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {};
  return Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(message)).finish());
}

export function encodeStatus(encoding: Encoding, status: OtlpStatus): Buffer | OtlpStatus {
  if (encoding === "json") return status;
  return Buffer.from(RpcStatus.encode(RpcStatus.fromObject(status)).finish());
}
