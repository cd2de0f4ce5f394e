import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountResponseSchema, AvTraceBatchResponseSchema, AvTraceDetailSchema } from "@spyglass/contracts";
import { avKey, bearer, freshTrace } from "../helpers/agentvista.js";
import { RetentionService } from "../../src/domain/retention/service.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, seedSchemaVersion } from "../helpers/prefactor.js";

// RETENTION_DAYS and the per-account override: expired runs go with their spans, in batches that
// leave ingest running.

const DAY = 24 * 3_600_000;
let ctx: TestContext;
let writer: string;
beforeAll(async () => {
  ctx = await createTestContext({ RETENTION_DAYS: "30", SWEEP_INTERVAL_MS: "86400000" });
  writer = await avKey(ctx, ["write", "read"]);
});
afterAll(async () => {
  await ctx?.close();
});

async function ingest(traces: unknown[], key = writer) {
  const res = await ctx.http().post("/api/v1/traces/batch").set(bearer(key)).send({ traces });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(AvTraceBatchResponseSchema.parse(res.body).rejected).toBe(0);
}

/** Test setup only: makes a run look as if it ended and was last active `days` ago. */
async function age(accountId: string, runId: string, days: number) {
  const at = new Date(Date.now() - days * DAY);
  await ctx.db.sql.query(`UPDATE agent_instances SET last_activity_at = $3, finished_at = $3 WHERE account_id = $1 AND id = $2`, [accountId, runId, at]);
}

const spansOf = async (accountId: string, runId: string) =>
  (await ctx.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM spans WHERE account_id = $1 AND agent_instance_id = $2`, [accountId, runId]))[0]!.n;

const detail = (runId: string, key = writer) => ctx.http().get(`/api/v1/dashboard/traces/${runId}`).set(bearer(key));

describe("retention", () => {
  it("deletes runs that ended more than RETENTION_DAYS ago with their spans, and leaves the others as they were", async () => {
    const old = freshTrace("retention-agent", 3);
    const recent = freshTrace("retention-agent", 2);
    const borderline = freshTrace("retention-agent", 1);
    await ingest([old, recent, borderline]);
    // A Prefactor run too: the job works on the one domain model.
    const reg = await api(ctx).post("/agent_instance/register", { agent_version: { name: "retention-bot", external_identifier: "1" }, agent_schema_version: seedSchemaVersion });
    expect(reg.status).toBe(200);
    const pfOld = reg.body.details.id as string;
    await age(ctx.accountId, old.trace.trace_id, 31);
    await age(ctx.accountId, pfOld, 45);
    await age(ctx.accountId, borderline.trace.trace_id, 29);
    const recentBefore = (await detail(recent.trace.trace_id).expect(200)).body;
    const borderlineBefore = (await detail(borderline.trace.trace_id).expect(200)).body;

    const deleted = await ctx.services.retention.purge();
    expect(deleted).toEqual({ runs: 2, spans: 3 });

    expect((await detail(old.trace.trace_id)).status).toBe(404);
    expect(await spansOf(ctx.accountId, old.trace.trace_id)).toBe(0);
    expect((await api(ctx).get(`/agent_instance/${pfOld}`)).status).toBe(404);
    expect(AvTraceDetailSchema.parse((await detail(recent.trace.trace_id).expect(200)).body)).toEqual(recentBefore);
    expect((await detail(borderline.trace.trace_id).expect(200)).body).toEqual(borderlineBefore);
    expect(await spansOf(ctx.accountId, recent.trace.trace_id)).toBe(2);
    // Nothing left to do: a second pass deletes nothing.
    expect(await ctx.services.retention.purge()).toEqual({ runs: 0, spans: 0 });
  });

  it("lets an account admin override the retention through PATCH /account", async () => {
    const other = await ctx.newAccount("short-memory");
    const shown = await api(ctx, other.token).get("/account").expect(200);
    expect(AccountResponseSchema.parse(shown.body).details.retention_days).toBeNull();

    const patch = (token: string, body: unknown) => ctx.http().patch("/api/v1/account").set(bearer(token)).send(body as object);
    expect((await patch(other.token, { details: { retention_days: 0 } })).status).toBe(400);
    expect((await patch(other.token, { details: { retention_days: 7, extra: 1 } })).status).toBe(400);
    const reader = await avKey(ctx, ["read", "write"], other.accountId);
    expect((await patch(reader, { details: { retention_days: 7 } })).status).toBe(403);
    const changed = await patch(other.token, { details: { retention_days: 7 } }).expect(200);
    expect(AccountResponseSchema.parse(changed.body).details.retention_days).toBe(7);

    // 10 days old: past the account's 7, within the server's 30 for the first account.
    const mine = freshTrace("retention-agent", 1);
    const theirs = freshTrace("retention-agent", 1);
    await ingest([mine]);
    await ingest([theirs], reader);
    await age(ctx.accountId, mine.trace.trace_id, 10);
    await age(other.accountId, theirs.trace.trace_id, 10);
    await ctx.services.retention.purge();
    expect((await detail(theirs.trace.trace_id, reader)).status).toBe(404);
    expect((await detail(mine.trace.trace_id)).status).toBe(200);

    // Back to the server's setting.
    const reset = await patch(other.token, { details: { retention_days: null } }).expect(200);
    expect(AccountResponseSchema.parse(reset.body).details.retention_days).toBeNull();
  });

  it("keeps ingest flowing while it deletes many runs in small batches", async () => {
    const seed = freshTrace("bulk-agent", 2);
    await ingest([seed]);
    // Test setup: 3000 expired copies of the run and its spans.
    const copies = 3000;
    const at = new Date(Date.now() - 90 * DAY);
    await ctx.db.sql.query(
      `INSERT INTO agent_instances
       SELECT (jsonb_populate_record(r, jsonb_build_object('id', r.id || '-' || g, 'last_activity_at', $3::timestamptz, 'finished_at', $3::timestamptz))).*
       FROM agent_instances r, generate_series(1, $4::int) g WHERE r.account_id = $1 AND r.id = $2`,
      [ctx.accountId, seed.trace.trace_id, at, copies],
    );
    await ctx.db.sql.query(
      `INSERT INTO spans
       SELECT (jsonb_populate_record(s, jsonb_build_object('id', s.id || '-' || g, 'agent_instance_id', s.agent_instance_id || '-' || g))).*
       FROM spans s, generate_series(1, $3::int) g WHERE s.account_id = $1 AND s.agent_instance_id = $2`,
      [ctx.accountId, seed.trace.trace_id, copies],
    );
    const retention = new RetentionService(ctx.db.sql, 30, undefined, 100);

    let purging = true;
    const purge = retention.purge().finally(() => (purging = false));
    let duringPurge = 0;
    while (purging) {
      await ingest([freshTrace("bulk-agent", 5)]);
      if (purging) duringPurge++;
    }
    expect(await purge).toEqual({ runs: copies, spans: 2 * copies });
    // Batches written between the deletion's batches, not after it.
    expect(duringPurge).toBeGreaterThanOrEqual(2);
    expect(await spansOf(ctx.accountId, seed.trace.trace_id)).toBe(2);
  }, 120_000);
});
