/**
 * The OTLP endpoints against bad input: undecodable or truncated protobuf, wrong content types and
 * encodings, gzip bombs, huge attribute values, ids of the wrong length, nesting past the bound.
 * Always a 4xx with a google.rpc.Status in the request's encoding, never a 5xx. Then tenant
 * isolation (a trace id another account used stays that account's) and the quota's Retry-After.
 */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvSpanSchema, AvTraceDetailSchema, OtlpExportTraceServiceResponseSchema, OtlpStatusSchema } from "@spyglass/contracts";
import { bearer } from "../helpers/agentvista.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

const generated = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: protobuf.Type; ExportTraceServiceResponse: protobuf.Type } } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = generated.opentelemetry.proto.collector.trace.v1;
const RpcStatus = new protobuf.Type("Status").add(new protobuf.Field("code", 1, "int32")).add(new protobuf.Field("message", 2, "string"));
new protobuf.Root().define("google.rpc").add(RpcStatus);

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: "0", JSON_BODY_LIMIT_BYTES: String(4 * 1024 * 1024) });
});
afterAll(async () => {
  await ctx?.close();
});

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const NOW = BigInt(Date.now()) * 1_000_000n;

interface SpanSpec {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  attributes?: { key: string; value: unknown }[];
}

/** An ExportTraceServiceRequest as OTLP/JSON (hex ids, int64 as strings). */
function jsonRequest(spans: SpanSpec[], service = "reliability") {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: "test" },
            spans: spans.map((s) => ({
              traceId: s.traceId ?? hex(16),
              spanId: s.spanId ?? hex(8),
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name ?? "op",
              kind: 1,
              startTimeUnixNano: String(NOW),
              endTimeUnixNano: String(NOW + 5_000_000n),
              attributes: s.attributes ?? [],
              status: { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

/** The same request as protobuf bytes (ids as bytes). */
function protoRequest(spans: SpanSpec[], service = "reliability"): Buffer {
  const json = jsonRequest(spans, service);
  for (const span of json.resourceSpans[0]!.scopeSpans[0]!.spans as Record<string, unknown>[]) {
    for (const key of ["traceId", "spanId", "parentSpanId"]) if (typeof span[key] === "string") span[key] = Buffer.from(span[key] as string, "hex");
  }
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(json)).finish());
}

function post(body: Buffer | string | object, headers: Record<string, string>, token: string | null = ctx.token, path = "/v1/traces") {
  let req = ctx.http().post(path);
  if (token) req = req.set(bearer(token));
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  // Buffers as they are (supertest would re-serialize an object as JSON).
  return req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => done(null, Buffer.concat(chunks)));
  }).send(typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

const PROTO = { "Content-Type": "application/x-protobuf" };
const JSON_TYPE = { "Content-Type": "application/json" };

/** The answer is a google.rpc.Status with this HTTP status, in the request's encoding. */
function status(res: { status: number; headers: Record<string, string>; body: Buffer }, expected: number, encoding: "protobuf" | "json") {
  expect(res.status, res.body.toString("utf8").slice(0, 300)).toBe(expected);
  if (encoding === "protobuf") {
    expect(res.headers["content-type"]).toMatch(/^application\/x-protobuf/);
    return RpcStatus.toObject(RpcStatus.decode(res.body)) as { code: number; message: string };
  }
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  return OtlpStatusSchema.strict().parse(JSON.parse(res.body.toString("utf8")));
}

describe("OTLP bad input: always a 4xx in the request's encoding, never a 5xx", () => {
  it("garbage and truncated protobuf give 400 with a google.rpc.Status", async () => {
    const garbage = status(await post(randomBytes(2048), PROTO), 400, "protobuf");
    expect(garbage).toMatchObject({ code: 3, message: expect.stringMatching(/undecodable/) });
    const whole = protoRequest([{ name: "x".repeat(200) }, {}]);
    for (const cut of [1, 7, Math.floor(whole.length / 2), whole.length - 1]) {
      status(await post(whole.subarray(0, cut), PROTO), 400, "protobuf");
    }
    // Garbage claiming to be gzip is not decodable either.
    status(await post(randomBytes(512), { ...PROTO, "Content-Encoding": "gzip" }), 400, "protobuf");
    const malformed = status(await post("{\"resourceSpans\": [", JSON_TYPE), 400, "json");
    expect(malformed.message).toMatch(/malformed JSON/);
    status(await post("[1,2]", JSON_TYPE), 400, "json");
  });

  it("other content types and encodings give 415, in JSON", async () => {
    for (const type of ["text/plain", "application/xml", "application/protobuf-ish", "multipart/form-data"]) {
      expect(status(await post("{}", { "Content-Type": type }), 415, "json").code).toBe(3);
    }
    status(await post(protoRequest([{}]), {}), 415, "json");
    status(await post(protoRequest([{}]), { ...PROTO, "Content-Encoding": "br" }), 415, "protobuf");
  });

  it("ids of the wrong length, or all zero, give 400 in either encoding", async () => {
    const cases: SpanSpec[] = [{ traceId: hex(15) }, { traceId: hex(17) }, { spanId: hex(7) }, { spanId: hex(9) }, { parentSpanId: hex(4) }, { traceId: "0".repeat(32) }, { spanId: "0".repeat(16) }];
    for (const spec of cases) {
      expect(status(await post(protoRequest([spec]), PROTO), 400, "protobuf").message).toMatch(/bytes|zero/);
      expect(status(await post(jsonRequest([spec]), JSON_TYPE), 400, "json").message).toMatch(/hex digits|zero/);
    }
    status(await post(jsonRequest([{ traceId: "zz".repeat(16) }]), JSON_TYPE), 400, "json");
    // Nothing of a refused request is stored.
    expect(await ctx.db.prisma.agentInstance.count()).toBe(0);
  });

  it("a gzip bomb is cut off at the body limit (413), and an unauthenticated one is refused before it is read", async () => {
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const res = await post(bomb, { ...PROTO, "Content-Encoding": "gzip" });
    expect(status(res, 413, "protobuf").code).toBe(8);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    status(await post(bomb, { ...PROTO, "Content-Encoding": "gzip" }, null), 401, "protobuf");
    status(await post(bomb, { ...PROTO, "Content-Encoding": "gzip" }, "sg_wrong_token_0000000000000"), 401, "protobuf");
    // A plain body over the limit, too.
    status(await post(Buffer.alloc(5 * 1024 * 1024, 1), PROTO), 413, "protobuf");
  });

  it("huge attribute values within the limit are stored whole; nesting past the bound gives 400", async () => {
    const traceId = hex(16);
    const big = "é".repeat(1024 * 1024);
    const ok = await post(protoRequest([{ traceId, attributes: [{ key: "gen_ai.prompt", value: { stringValue: big } }, { key: "nul", value: { stringValue: "a\u0000b" } }] }]), PROTO);
    expect(ok.status).toBe(200);
    expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(ok.body))).toEqual({});
    const runId = traceId.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
    const run = AvTraceDetailSchema.parse((await ctx.http().get(`/api/v1/dashboard/traces/${runId}`).set(bearer(ctx.token))).body);
    const whole = await ctx.http().get(`/api/v1/dashboard/traces/${runId}/spans/${run.spans[0]!.span_id}`).set(bearer(ctx.token));
    const input = AvSpanSchema.parse(whole.body).input as Record<string, unknown>;
    expect((input["gen_ai.prompt"] as string).length).toBe(big.length);
    expect(input.nul).toBe("a\ufffdb");

    let value: unknown = { stringValue: "deep" };
    for (let i = 0; i < 35; i++) value = { arrayValue: { values: [value] } };
    expect(status(await post(jsonRequest([{ attributes: [{ key: "deep", value }] }]), JSON_TYPE), 400, "json").message).toMatch(/nest deeper than 32/);
    expect(status(await post(protoRequest([{ attributes: [{ key: "deep", value }] }]), PROTO), 400, "protobuf").message).toMatch(/nest deeper than 32/);
    // AnyValue { array_value { values: AnyValue ... } } nested until the decoder's stack gives out: still a 400.
    const field = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), varint(body.length), body]);
    let anyValue = field(0x0a, Buffer.from("x"));
    for (let i = 0; i < 20_000; i++) anyValue = field(0x2a, field(0x0a, anyValue));
    const span = Buffer.concat([field(0x0a, randomBytes(16)), field(0x12, randomBytes(8)), field(0x4a, Buffer.concat([field(0x0a, Buffer.from("k")), field(0x12, anyValue)]))]);
    const deep = field(0x0a, field(0x12, field(0x12, span)));
    status(await post(deep, PROTO), 400, "protobuf");
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

describe("OTLP tenant isolation", () => {
  it("a trace id another account used stays that account's; each account sees only its own spans", async () => {
    const other = await ctx.newAccount("otlp-tenant-b");
    const traceId = hex(16);
    const runId = traceId.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
    const a = await post(jsonRequest([{ traceId, name: "a-root" }], "service-a"), JSON_TYPE);
    expect(OtlpExportTraceServiceResponseSchema.parse(JSON.parse(a.body.toString("utf8")))).toEqual({});
    // B sends the same trace id and the same span id: its own run, A's untouched.
    const spanId = (await ctx.db.prisma.span.findFirst({ where: { accountId: ctx.accountId, agentInstanceId: runId } }))!.metadata as Record<string, string>;
    const b = await post(jsonRequest([{ traceId, spanId: spanId["otel.span_id"], name: "b-root" }], "service-b"), JSON_TYPE, other.token);
    expect(b.status).toBe(200);
    const readA = AvTraceDetailSchema.parse((await ctx.http().get(`/api/v1/dashboard/traces/${runId}`).set(bearer(ctx.token))).body);
    const readB = AvTraceDetailSchema.parse((await ctx.http().get(`/api/v1/dashboard/traces/${runId}`).set(bearer(other.token))).body);
    expect(readA).toMatchObject({ agent_name: "service-a", spans: [expect.objectContaining({ name: "a-root" })] });
    expect(readB).toMatchObject({ agent_name: "service-b", spans: [expect.objectContaining({ name: "b-root" })] });
    expect(readA.spans).toHaveLength(1);
    expect(readB.spans).toHaveLength(1);
  });
});

describe("OTLP and a deployment-scoped token", () => {
  it("writes its own agent's spans only: other services, and traces of another agent, come back in partial_success", async () => {
    const auth = await ctx.services.accounts.authenticate(ctx.token);
    const agent = await ctx.services.catalog.findOrCreateAgentByName(auth, "deployed-otel");
    const { secret } = await ctx.services.accounts.issueToken({ secretPrefix: "sg_", accountId: ctx.accountId, scopes: ["read", "write"], tokenScope: "agent_deployment", agentId: agent.id });
    const foreignTrace = hex(16);
    expect((await post(jsonRequest([{ traceId: foreignTrace }], "someone-else"), JSON_TYPE)).status).toBe(200);

    const parse = (res: { body: Buffer }) => OtlpExportTraceServiceResponseSchema.parse(JSON.parse(res.body.toString("utf8")));
    const own = parse(await post(jsonRequest([{}, {}], "deployed-otel"), JSON_TYPE, secret));
    expect(own).toEqual({});
    const other = parse(await post(jsonRequest([{}, {}, {}], "not-deployed-otel"), JSON_TYPE, secret));
    expect(other.partialSuccess).toMatchObject({ rejectedSpans: "3", errorMessage: expect.stringMatching(/may only write runs of agent deployed-otel/) });
    expect(await ctx.db.prisma.agent.count({ where: { name: "not-deployed-otel" } })).toBe(0);
    // A trace another agent's spans started: joining it would write into that agent's run.
    const joined = parse(await post(jsonRequest([{ traceId: foreignTrace }], "deployed-otel"), JSON_TYPE, secret));
    expect(joined.partialSuccess).toMatchObject({ rejectedSpans: "1", errorMessage: expect.stringMatching(/another agent/) });
  });
});

describe("OTLP monthly event limit", () => {
  it("answers 429 with Retry-After and a google.rpc.Status, storing nothing", async () => {
    const limited = await createTestContext({ EVENT_LIMIT_MONTHLY: "2" });
    try {
      const res = await limited
        .http()
        .post("/api/v1/otlp/v1/traces")
        .set(bearer(limited.token))
        .set(PROTO)
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => done(null, Buffer.concat(chunks)));
        })
        .send(protoRequest([{}, {}, {}]));
      expect(status(res, 429, "protobuf")).toMatchObject({ code: 8, message: "Monthly event limit exceeded." });
      expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
      expect(await limited.db.prisma.span.count()).toBe(0);
    } finally {
      await limited.close();
    }
  });
});
