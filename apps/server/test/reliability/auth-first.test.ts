/**
 * No work before authentication (issue 19 item 8). The reproduction: 5 KB of gzip inflating to
 * ~5 MB of JSON, sent without a valid token, used to be inflated and parsed (0.5 s of CPU each)
 * before the token was looked at. Now the token is checked from the headers first, on every route
 * of both dialects, and an address piling up failed authentications gets 429 with Retry-After.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema, OtlpStatusSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { fillPath, listOperations, type Operation } from "../helpers/openapi.js";

const FAILURE_LIMIT = 5;

let ctx: TestContext;
let limited: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ AUTH_FAILURES_PER_MINUTE: "0" });
  limited = await createTestContext({ AUTH_FAILURES_PER_MINUTE: String(FAILURE_LIMIT) });
});
afterAll(async () => {
  await ctx?.close();
  await limited?.close();
});

/** ~5 MB of valid JSON (just under the default body limit) in ~5 KB of gzip. */
const bomb = gzipSync(Buffer.from(`{"traces":[],"pad":"${" ".repeat(5_000_000)}"}`));

function envelope(op: Operation, body: unknown) {
  return op.dialect === "agentvista" ? AvErrorSchema.parse(body) : op.dialect === "otlp" ? OtlpStatusSchema.parse(body) : ErrorEnvelopeSchema.parse(body);
}

describe("authentication comes before the body", () => {
  it("answers every operation's anonymous or bad-token gzip bomb 401 without inflating it", async () => {
    expect(bomb.length).toBeLessThan(10_000);
    const writes = listOperations().filter((op) => op.method !== "get");
    expect(writes.length).toBeGreaterThan(20);
    const cpuBefore = process.cpuUsage();
    let requests = 0;
    for (const op of writes) {
      const path = fillPath(op.path, {});
      for (const auth of [undefined, "Bearer sg_0000000000000000000000000000000000000000000000000000000000000000"]) {
        let req = ctx.http()[op.method](path).set("Content-Type", "application/json").set("Content-Encoding", "gzip");
        if (auth) req = req.set("Authorization", auth);
        const res = await req.send(bomb);
        expect(res.status, `${op.method} ${op.path}`).toBe(401);
        envelope(op, res.body);
        requests++;
      }
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMsPerRequest = (cpu.user + cpu.system) / 1000 / requests;
    // Inflating and parsing cost ~500 ms of CPU per request; a header check costs well under 20.
    expect(cpuMsPerRequest).toBeLessThan(50);
  });

  it("answers malformed or oversized bodies 401 when the token is bad, 400/413 when it is good", async () => {
    for (const [body, status] of [
      ["{not json", 400],
      [`{"pad":"${"x".repeat(6 * 1024 * 1024)}"}`, 413],
    ] as const) {
      const anonymous = await ctx.http().post("/api/v1/traces/batch").set("Content-Type", "application/json").send(body);
      expect(anonymous.status).toBe(401);
      const good = await ctx.http().post("/api/v1/traces/batch").set("Authorization", `Bearer ${ctx.token}`).set("Content-Type", "application/json").send(body);
      expect(good.status).toBe(status);
    }
  });
});

describe("failed authentications per address", () => {
  it(`answers 429 with Retry-After after ${FAILURE_LIMIT} failures in a minute, in each dialect's envelope`, async () => {
    // The admin token authenticates once before the guessing starts (the SDK's start-up ping).
    await limited.http().get("/api/v1/ping").set("Authorization", `Bearer ${limited.token}`).expect(200);
    const bad = "Bearer sg_1111111111111111111111111111111111111111111111111111111111111111";
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      const res = await limited.http().get(i % 2 ? "/api/v1/agent" : "/api/v1/dashboard/traces").set("Authorization", bad);
      expect(res.status).toBe(401);
    }
    const refused = [
      await limited.http().get("/api/v1/agent").set("Authorization", bad),
      await limited.http().get("/api/v1/dashboard/traces"),
      await limited.http().post("/api/v1/traces/batch").set("Content-Type", "application/json").set("Content-Encoding", "gzip").send(bomb),
      await limited.http().post("/v1/traces").set("Content-Type", "application/json").send("{}"),
    ];
    for (const [i, res] of refused.entries()) {
      expect(res.status, `refused ${i}`).toBe(429);
      expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers["retry-after"])).toBeLessThanOrEqual(120);
    }
    expect(ErrorEnvelopeSchema.parse(refused[0]!.body)).toMatchObject({ code: "rate_limited" });
    AvErrorSchema.parse(refused[1]!.body);
    OtlpStatusSchema.parse(refused[3]!.body);
    // A token this process already knows keeps working from the same address.
    await limited.http().get("/api/v1/ping").set("Authorization", `Bearer ${limited.token}`).expect(200);
    await limited.http().get("/api/v1/dashboard/traces").set("Authorization", `Bearer ${limited.token}`).expect(200);
  });
});
