import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, startedInstance } from "../helpers/prefactor.js";

// Span create and finish are prepared statements on PostgreSQL, parsed once per connection and
// planned for their values on every call (see SqlDriver.query): a generic plan made on a fresh
// database, before statistics, found runs and spans by their account instead of by their key.
describe.skipIf(!process.env.DATABASE_URL)("span write statements on PostgreSQL", () => {
  let ctx: TestContext;
  // One connection: the session whose prepared statements the test reads is the one that ran them.
  beforeAll(async () => {
    ctx = await createTestContext({ DB_POOL_SIZE: "1" });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("are prepared once and planned for their values on every call, on a database without statistics", async () => {
    const instance = await startedInstance(ctx);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await api(ctx).post("/agent_spans", {
        details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", parent_span_id: ids.at(-1), payload: { model: "m", prompt: `p${i}` } },
      });
      expect(res.status).toBe(200);
      ids.push(res.body.details.id);
    }
    for (const id of ids.reverse()) {
      const res = await api(ctx).post(`/agent_spans/${id}/finish`, { status: "complete", result_payload: { response: "ok", tokens: 3 } });
      expect(res.status).toBe(200);
      expect(res.body.details.status).toBe("complete");
    }

    const statements = await ctx.db.sql.query<{ statement: string; generic_plans: string; custom_plans: string }>(
      "SELECT statement, generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE name LIKE 'spyglass\\_%'",
      [],
    );
    const create = statements.find((s) => s.statement.includes("INSERT INTO spans"));
    const finish = statements.find((s) => s.statement.includes("UPDATE spans SET status"));
    expect(create).toMatchObject({ generic_plans: "0" });
    expect(finish).toMatchObject({ generic_plans: "0" });
    expect(Number(create!.custom_plans)).toBeGreaterThanOrEqual(12);
    expect(Number(finish!.custom_plans)).toBeGreaterThanOrEqual(12);

    // The batch ingest function keeps PostgreSQL's plan cache for its own statements.
    const [fn] = await ctx.db.sql.query<{ config: string[] }>("SELECT proconfig AS config FROM pg_proc WHERE proname = 'spyglass_ingest_traces'", []);
    expect(fn!.config).toContain("plan_cache_mode=auto");
  });
});
