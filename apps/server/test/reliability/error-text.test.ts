/**
 * The database's own error text never reaches a client: a value it refuses answers a generic
 * message (the whole request's 400, or one trace's rejection in a batch), and its text goes to the
 * operator's log under the request id.
 */
import request from "supertest";
import type { Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvTraceBatchResponseSchema } from "@spyglass/contracts";
import { UNSTORABLE_TRACE_MESSAGE } from "../../src/domain/traces/ingest.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { appLoggingTo } from "../helpers/log-capture.js";
import { bearer, traceItem } from "../helpers/agentvista.js";

let ctx: TestContext;
let app: Express;
const logLines: string[] = [];
beforeAll(async () => {
  ctx = await createTestContext();
  app = appLoggingTo(ctx, logLines);
});
afterAll(async () => {
  await ctx?.close();
});

/** Words of PostgreSQL's and Prisma's error texts. */
const DATABASE_TEXT = /numeric|overflow|precision|scale|out of range for type|invalid input syntax|violates|constraint|SQLSTATE|prisma|relation "|column "/i;

function loggedFor(requestId: string): Record<string, unknown>[] {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => (l.req as { id?: string } | undefined)?.id === requestId);
}

describe("database error text", () => {
  it("never reaches a client in a batch's per-trace errors, and is logged with the request id", async () => {
    // Span costs each within the contract whose sum, the run's total, passes the column's
    // precision: the database refuses that trace (per trace, inside the batch's statement).
    const overflow = () => {
      const item = traceItem({ agent: "overflow", spans: 2 });
      for (const span of item.spans) span.cost_usd = "99999999999999.5";
      return item;
    };
    const spanOverflow = overflow();
    const secondOverflow = overflow();
    const fine = traceItem({ agent: "overflow" });
    const res = await request(app)
      .post("/api/v1/traces/batch")
      .set(bearer(ctx.token))
      .set("X-Request-Id", "error-text-batch")
      .send({ traces: [spanOverflow, fine, secondOverflow] })
      .expect(200);
    const body = AvTraceBatchResponseSchema.parse(res.body);
    expect(body.accepted).toBe(1);
    expect(body.errors).toEqual([
      { index: 0, trace_id: spanOverflow.trace.trace_id, message: UNSTORABLE_TRACE_MESSAGE },
      { index: 2, trace_id: secondOverflow.trace.trace_id, message: UNSTORABLE_TRACE_MESSAGE },
    ]);
    expect(res.text).not.toMatch(DATABASE_TEXT);
    const logged = loggedFor("error-text-batch").filter((l) => l.detail);
    expect(logged.map((l) => l.index).sort()).toEqual([0, 2]);
    for (const line of logged) expect(String(line.detail)).toMatch(/numeric field overflow/);
  });
});
