/**
 * No token can out-scope itself through idempotency: authorization (scope, token state, agent
 * restriction) is decided before a key's record is looked up or replayed; a new token's secret is
 * never stored (so never replayed); expired records are purged in the background.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentResponseSchema, ApiTokenCreatedSchema, AvErrorSchema, buildOpenApiDocument, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { generatePfid, randomPartition } from "../../src/domain/shared/pfid.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { avKey, bearer, traceItem } from "../helpers/agentvista.js";
import { api, registerInstance, seedSchemaVersion, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
beforeAll(async () => {
  // The purge runs on the background sweep's interval (its minimum, to see it act).
  ctx = await createTestContext({ SWEEP_INTERVAL_MS: "1000" });
});
afterAll(async () => {
  await ctx?.close();
});

const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);
const tokenBody = (key: string) => ({ details: { token_scope: "account" }, idempotency_key: key });

async function recordsContaining(text: string): Promise<number> {
  const rows = await ctx.db.prisma.idempotencyRecord.findMany({ select: { responseBody: true } });
  return rows.filter((r) => r.responseBody.includes(text)).length;
}

async function deploymentToken(agentId: string): Promise<string> {
  const { secret } = await ctx.services.accounts.issueToken({
    secretPrefix: "sg_",
    accountId: ctx.accountId,
    scopes: ["read", "write"],
    tokenScope: "agent_deployment",
    agentId,
  });
  return secret;
}

describe("idempotency replays and authorization", () => {
  it("refuses a replay of an admin's token creation to a key without the admin scope, exactly as without the key", async () => {
    const created = await api(ctx).post("/api_token", tokenBody("create-ci-token-1")).expect(200);
    const secret = ApiTokenCreatedSchema.parse(created.body).token!;
    expect(secret).toMatch(/^sg_/);

    for (const scopes of [["read"], ["write"], ["read", "write"]]) {
      const key = await avKey(ctx, scopes);
      const replayed = await api(ctx, key).post("/api_token", tokenBody("create-ci-token-1"));
      const fresh = await api(ctx, key).post("/api_token", tokenBody("create-ci-token-never-used"));
      expect(replayed.status, `scopes ${scopes.join(",")}`).toBe(403);
      expect(replayed.headers["idempotent-replayed"]).toBeUndefined();
      expect(replayed.text).not.toContain(secret.slice(3));
      // Whether the key was used or not is not visible to such a caller.
      expect(errorOf(replayed.body)).toEqual(errorOf(fresh.body));
      expect(errorOf(fresh.body).code).toBe("not_permitted");
    }
  });

  it("never stores a new token's secret: a replay answers the same token without it, saying why", async () => {
    const first = ApiTokenCreatedSchema.parse((await api(ctx).post("/api_token", tokenBody("create-ci-token-2")).expect(200)).body);
    expect(first.token).toMatch(/^sg_[0-9a-f]{64}$/);
    expect(first.notice).toBeUndefined();
    expect(await recordsContaining(first.token!.slice(3))).toBe(0);

    const again = await api(ctx).post("/api_token", tokenBody("create-ci-token-2")).expect(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    const replay = ApiTokenCreatedSchema.parse(again.body);
    expect(replay.details).toEqual(first.details);
    expect(replay.token).toBeNull();
    expect(replay.notice).toMatch(/not stored/);
    expect(again.text).not.toContain(first.token!.slice(3));
    // The first secret still works: the replay created nothing.
    await api(ctx, first.token!).get("/ping").expect(200);
    expect(await ctx.db.prisma.apiToken.count({ where: { id: first.details.id } })).toBe(1);
  });

  it("checks a token's state before replaying what it wrote", async () => {
    const { token, secret } = await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read", "write"], secretPrefix: "sg_" });
    const body = { agent_version: { name: "state-bot", external_identifier: "1" }, agent_schema_version: { external_identifier: "s" }, idempotency_key: "state-register-1" };
    await api(ctx, secret).post("/agent_instance/register", body).expect(200);
    const instance = (await api(ctx, secret).post("/agent_instance/register", body).expect(200)).body.details.id as string;
    const spanBody = { details: { agent_instance_id: instance, schema_name: "x", status: "active", payload: {} }, idempotency_key: "state-span-1" };
    await api(ctx, secret).post(`/agent_instance/${instance}/start`, {}).expect(200);
    await api(ctx, secret).post("/agent_spans", spanBody).expect(200);
    await ctx.db.prisma.apiToken.update({ where: { id: token.id }, data: { status: "suspended" } });
    expect(errorOf((await api(ctx, secret).post("/agent_instance/register", body).expect(401)).body).code).toBe("bad_authtoken");
    expect(errorOf((await api(ctx, secret).post("/agent_spans", spanBody).expect(401)).body).code).toBe("bad_authtoken");
    // A body that does not match the record: 401 too, never the 409 that would say the key exists.
    expect(errorOf((await api(ctx, secret).post("/agent_spans", { ...spanBody, details: { ...spanBody.details, schema_name: "y" } }).expect(401)).body).code).toBe(
      "bad_authtoken",
    );
  });

  it("never replays to a deployment token what was written outside its agent", async () => {
    const mine = await registerInstance(ctx, { agent_version: { name: "replay-mine", external_identifier: "1" } });
    const other = await registerInstance(ctx, { agent_version: { name: "replay-other", external_identifier: "1" } });
    const dep = api(ctx, await deploymentToken(mine.agent_id));
    const register = {
      agent_id: other.agent_id,
      agent_version: { external_identifier: "2" },
      agent_schema_version: { external_identifier: "s" },
      idempotency_key: "other-agent-register",
    };
    const original = await api(ctx).post("/agent_instance/register", register).expect(200);
    const replay = await dep.post("/agent_instance/register", register);
    expect(replay.status).toBe(409);
    expect(errorOf(replay.body).code).toBe("idempotency_key_already_used");
    expect(replay.text).not.toContain(original.body.details.id);

    const start = { idempotency_key: "other-agent-start" };
    await api(ctx).post(`/agent_instance/${other.id}/start`, start).expect(200);
    expect(errorOf((await dep.post(`/agent_instance/${other.id}/start`, start).expect(409)).body).code).toBe("idempotency_key_already_used");

    const span = { details: { agent_instance_id: other.id, schema_name: "llm", status: "active", payload: { prompt: "secret" } }, idempotency_key: "other-agent-span" };
    const written = await api(ctx).post("/agent_spans", span).expect(200);
    const spanReplay = await dep.post("/agent_spans", span).expect(409);
    expect(spanReplay.text).not.toContain(written.body.details.id);

    const bulk = { items: [{ _type: "agent_instances/finish", agent_instance_id: other.id, idempotency_key: "other-agent-bulk-1" }] };
    await api(ctx).post("/bulk", bulk).expect(200);
    const bulkReplay = await dep.post("/bulk", bulk).expect(200);
    expect(errorOf(bulkReplay.body.outputs["other-agent-bulk-1"]).code).toBe("idempotency_key_already_used");

    // The same token replays its own writes as any token does.
    const own = { idempotency_key: "own-agent-start" };
    const started = await dep.post(`/agent_instance/${mine.id}/start`, own).expect(200);
    const again = await dep.post(`/agent_instance/${mine.id}/start`, own).expect(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.text).toBe(started.text);
  });
});

describe("expired idempotency records", () => {
  async function insertRecords(prefix: string, n: number, expiresAt: Date) {
    await ctx.db.prisma.idempotencyRecord.createMany({
      data: Array.from({ length: n }, (_, i) => ({
        accountId: ctx.accountId,
        key: `${prefix}-${i}`,
        requestHash: "x",
        statusCode: 200,
        responseBody: "{}",
        expiresAt,
      })),
    });
  }
  const count = (prefix: string) => ctx.db.prisma.idempotencyRecord.count({ where: { key: { startsWith: `${prefix}-` } } });

  it("are purged in bounded batches, live ones kept", async () => {
    // Purged as of two hours from now: records the background purge (as of now) leaves alone.
    const later = new Date(Date.now() + 2 * 3_600_000);
    await insertRecords("purge-old", 1_203, new Date(Date.now() + 3_600_000));
    await insertRecords("purge-live", 5, new Date(Date.now() + 3 * 3_600_000));
    // Two batches of 500 at most: the rest waits for the next purge.
    expect(await ctx.services.idempotency.purgeExpired(later, 500, 2)).toBe(1_000);
    expect(await count("purge-old")).toBe(203);
    expect(await ctx.services.idempotency.purgeExpired(later, 500, 2)).toBe(203);
    expect(await count("purge-old")).toBe(0);
    expect(await count("purge-live")).toBe(5);
  });

  it("are purged in the background", async () => {
    await insertRecords("purge-bg", 50, new Date(Date.now() - 1000));
    const deadline = Date.now() + 10_000;
    while ((await count("purge-bg")) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count("purge-bg")).toBe(0);
    expect(await count("purge-live")).toBe(5);
  });
});

describe("an agent_deployment token", () => {
  /** One agent's things, made by the account's admin through both dialects. */
  async function agentWithData(name: string) {
    const run = await startedInstance(ctx, { agent_version: { name, external_identifier: "1" }, agent_schema_version: seedSchemaVersion });
    const span = (await api(ctx).post("/agent_spans", { details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { prompt: `${name} prompt` } } }).expect(200))
      .body.details.id as string;
    const versionId = (await api(ctx).get(`/agent_instance/${run.id}`).expect(200)).body.details.agent_version_id as string;
    const trace = traceItem({ agent: name, spans: 2, outcome: `${name}-outcome` });
    await ctx.http().post("/api/v1/traces/batch").set(bearer(ctx.token)).send({ traces: [trace] }).expect(200);
    return {
      name,
      agent: run.agent_id,
      run: run.id,
      span,
      version: versionId,
      schemaVersion: run.agent_schema_version_id,
      trace: trace.trace.trace_id as string,
      traceSpan: trace.spans[0]!.span_id,
    };
  }

  let mine: Awaited<ReturnType<typeof agentWithData>>;
  let other: Awaited<ReturnType<typeof agentWithData>>;
  let dep: string;
  beforeAll(async () => {
    mine = await agentWithData("dep-mine");
    other = await agentWithData("dep-other");
    dep = await deploymentToken(mine.agent);
  });

  const get = (path: string) => ctx.http().get(`/api/v1${path}`).set(bearer(dep));
  const otherIds = () => [other.agent, other.run, other.span, other.version, other.schemaVersion, other.trace, other.traceSpan, "dep-other-outcome", "dep-other prompt"];

  /** Every GET of agent data, with what the token must (and must not) find there. */
  const reads = (): [string, string, string[]][] => [
    ["/agent", "/agent", [mine.agent]],
    ["/agent/{id}", `/agent/${mine.agent}`, [mine.agent]],
    ["/agent_version", "/agent_version", [mine.version]],
    ["/agent_version", `/agent_version?agent_id=${other.agent}`, []],
    ["/agent_version/{id}", `/agent_version/${mine.version}`, [mine.version]],
    ["/agent_schema_version", "/agent_schema_version", [mine.schemaVersion]],
    ["/agent_schema_version", `/agent_schema_version?agent_id=${other.agent}`, []],
    ["/agent_schema_version/{id}", `/agent_schema_version/${mine.schemaVersion}`, [mine.schemaVersion]],
    ["/agent_instance", "/agent_instance", [mine.run, mine.trace]],
    ["/agent_instance", `/agent_instance?agent_id=${other.agent}`, []],
    ["/agent_instance/{id}", `/agent_instance/${mine.run}`, [mine.run]],
    ["/agent_spans", `/agent_spans?agent_instance_id=${other.run}`, []],
    ["/agent_spans", `/agent_spans?agent_instance_id=${other.trace}`, []],
    ["/agent_spans", `/agent_spans?agent_id=${other.agent}`, []],
    ["/agent_spans", `/agent_spans?agent_id=${mine.agent}`, [mine.span]],
    ["/agent_spans/{id}", `/agent_spans/${mine.span}`, [mine.span]],
    ["/dashboard/traces/", "/dashboard/traces", [mine.run, mine.trace]],
    ["/dashboard/traces/", `/dashboard/traces?agent_id=${other.agent}`, []],
    ["/dashboard/traces/", `/dashboard/traces?agent=${other.name}`, []],
    ["/dashboard/traces/{trace_id}", `/dashboard/traces/${mine.trace}`, [mine.trace]],
    ["/dashboard/traces/{trace_id}/spans/{span_id}", `/dashboard/traces/${mine.trace}/spans/${mine.traceSpan}`, [mine.traceSpan]],
    ["/dashboard/traces/compare-agents", `/dashboard/traces/compare-agents?agent_a=${mine.name}&agent_b=${mine.agent}`, [mine.agent]],
    ["/agents", "/agents", [mine.agent]],
    ["/agents/{id}", `/agents/${mine.agent}`, [mine.agent]],
    ["/agents/{id}/stats", `/agents/${mine.agent}/stats`, [mine.agent]],
    ["/agents/{id}/runs", `/agents/${mine.agent}/runs`, [mine.trace]],
  ];
  /** The same reads naming the other agent's things: not found, as another account's. */
  const foreign = (): [string, string][] => [
    ["/agent/{id}", `/agent/${other.agent}`],
    ["/agent_version/{id}", `/agent_version/${other.version}`],
    ["/agent_schema_version/{id}", `/agent_schema_version/${other.schemaVersion}`],
    ["/agent_instance/{id}", `/agent_instance/${other.run}`],
    ["/agent_instance/{id}", `/agent_instance/${other.trace}`],
    ["/agent_spans/{id}", `/agent_spans/${other.span}`],
    ["/dashboard/traces/{trace_id}", `/dashboard/traces/${other.trace}`],
    ["/dashboard/traces/{trace_id}", `/dashboard/traces/${other.run}`],
    ["/dashboard/traces/{trace_id}/spans/{span_id}", `/dashboard/traces/${other.trace}/spans/${other.traceSpan}`],
    ["/dashboard/traces/{trace_id}/spans/{span_id}", `/dashboard/traces/${other.run}/spans/${other.span}`],
    ["/dashboard/traces/compare-agents", `/dashboard/traces/compare-agents?agent_a=${mine.name}&agent_b=${other.name}`],
    ["/dashboard/traces/compare-agents", `/dashboard/traces/compare-agents?agent_a=${other.agent}&agent_b=${mine.agent}`],
    ["/agents/{id}", `/agents/${other.agent}`],
    ["/agents/{id}/stats", `/agents/${other.agent}/stats`],
    ["/agents/{id}/runs", `/agents/${other.agent}/runs`],
  ];
  /** GETs that carry no agent's data (or need the admin scope a deployment token lacks). */
  const ACCOUNT_WIDE = ["/ping", "/account", "/environment", "/environment/{id}", "/model_prices", "/api_token", "/api_token/{id}", "/me/api-keys/", "/me/api-keys/ping/"];

  it("reads only its own agent, on every read path of both dialects", async () => {
    const documented = Object.entries(buildOpenApiDocument().paths ?? {})
      .filter(([path, ops]) => path.startsWith("/api/v1/") && ops && "get" in ops)
      .map(([path]) => path.slice("/api/v1".length));
    const covered = new Set([...reads().map(([op]) => op), ...ACCOUNT_WIDE]);
    // A new read is noticed here: add it to the lists above (and restrict it).
    expect(documented.filter((p) => !covered.has(p))).toEqual([]);

    for (const [, path, expected] of reads()) {
      const res = await get(path);
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      for (const id of expected) expect(res.text, path).toContain(id);
      for (const id of otherIds()) expect(res.text, path).not.toContain(id);
    }
    for (const [, path] of foreign()) {
      const res = await get(path);
      expect(res.status, `${path}: ${res.text}`).toBe(404);
      for (const id of otherIds().slice(2)) expect(res.text, path).not.toContain(id);
    }
    // The admin still sees both.
    const all = await ctx.http().get("/api/v1/agents").set(bearer(ctx.token)).expect(200);
    expect(all.text).toContain(other.agent);
  });

  it("writes only to its own agent; another agent's things are not found", async () => {
    const d = api(ctx, dep);
    const notFound = async (res: { status: number; body: unknown }) => {
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect(errorOf(res.body).code).toBe("not_found");
    };
    await notFound(await d.post(`/agent_instance/${other.run}/finish`, {}));
    await notFound(await d.post(`/agent_instance/${other.run}/terminate`, { reason: "x" }));
    await notFound(await d.post("/agent_spans", { details: { agent_instance_id: other.run, schema_name: "llm", status: "active", payload: {} } }));
    await notFound(await d.post(`/agent_spans/${other.span}/finish`, {}));
    await notFound(await d.post("/agent_instance/register", { agent_id: other.agent, agent_version: { external_identifier: "9" }, agent_schema_version: { external_identifier: "s" } }));
    const bulk = await d.post("/bulk", { items: [{ _type: "agent_spans/finish", agent_span_id: other.span, idempotency_key: "dep-bulk-finish" }] }).expect(200);
    expect(errorOf(bulk.body.outputs["dep-bulk-finish"]).code).toBe("not_found");
    const outcome = await ctx.http().patch(`/api/v1/dashboard/traces/${other.trace}/outcome`).set(bearer(dep)).send({ success: false });
    expect(outcome.status).toBe(404);
    AvErrorSchema.parse(outcome.body);
    // Nothing of the other agent changed.
    expect((await api(ctx).get(`/agent_instance/${other.run}`).expect(200)).body.details.status).toBe("active");
    expect((await api(ctx).get(`/agent_spans/${other.span}`).expect(200)).body.details.status).toBe("active");
    // Its own: fine.
    await d.post("/agent_spans", { details: { agent_instance_id: mine.run, schema_name: "llm", status: "active", payload: {} } }).expect(200);
  });
});

describe("agent ids", () => {
  it("are per account: another tenant's agent id is free, and says nothing about that tenant", async () => {
    const id = generatePfid(randomPartition());
    const a = await api(ctx).post("/agent", { details: { id, name: "tenant-a-agent" } }).expect(200);
    expect(AgentResponseSchema.parse(a.body).details.id).toBe(id);
    const other = await ctx.newAccount("agent-ids");
    const b = api(ctx, other.token);
    const created = AgentResponseSchema.parse((await b.post("/agent", { details: { id, name: "tenant-b-agent" } }).expect(200)).body).details;
    expect(created).toMatchObject({ id, name: "tenant-b-agent", account_id: other.accountId });
    // Within one account the id is still unique.
    expect(errorOf((await b.post("/agent", { details: { id, name: "tenant-b-again" } }).expect(409)).body).code).toBe("invalid_action");

    // Each tenant works with its own agent of that id, in both dialects.
    await b.put(`/agent/${id}`, { details: { description: "b's" } }).expect(200);
    await b.post(`/agent/${id}/retire`, {}).expect(200);
    await b.post(`/agent/${id}/reinstate`, {}).expect(200);
    await registerInstance(ctx, { agent_id: id, agent_version: { external_identifier: "1" } }, other.token);
    expect(AgentResponseSchema.parse((await api(ctx).get(`/agent/${id}`).expect(200)).body).details).toMatchObject({ name: "tenant-a-agent", description: null, status: "pending" });
    const avB = await ctx.http().get(`/api/v1/agents/${id}`).set(bearer(other.token)).expect(200);
    expect(avB.body).toMatchObject({ name: "tenant-b-agent", total_runs: 1 });
    const avA = await ctx.http().get(`/api/v1/agents/${id}`).set(bearer(ctx.token)).expect(200);
    expect(avA.body).toMatchObject({ name: "tenant-a-agent", total_runs: 0 });
    const traces = await ctx.http().get("/api/v1/dashboard/traces").set(bearer(other.token)).expect(200);
    expect(traces.body.results.map((t: { agent_name: string }) => t.agent_name)).toEqual(["tenant-b-agent"]);
    await api(ctx).delete(`/agent/${id}`, {}).expect(200);
    expect(AgentResponseSchema.parse((await b.get(`/agent/${id}`).expect(200)).body).details.name).toBe("tenant-b-agent");
  });
});

describe("client strings used as keys", () => {
  it("a /bulk item keyed __proto__ runs once and its output is in the response", async () => {
    const run = await startedInstance(ctx, { agent_version: { name: "proto-bot", external_identifier: "1" } });
    const items = [
      { _type: "agent_spans/create", idempotency_key: "__proto__", details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { n: 1 } } },
      { _type: "agent_spans/create", idempotency_key: "constructor", details: { agent_instance_id: run.id, schema_name: "llm", status: "active", payload: { n: 2 } } },
      { _type: "agent_instances/finish", idempotency_key: "toString", agent_instance_id: run.id },
    ];
    const res = await api(ctx).post("/bulk", { items }).expect(200);
    const outputs = JSON.parse(res.text, (_key, value) => value).outputs as Record<string, { status: string; details: { id: string } }>;
    expect(Object.keys(outputs)).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.getOwnPropertyDescriptor(outputs, "__proto__")?.value.status).toBe("success");
    const spanId = Object.getOwnPropertyDescriptor(outputs, "__proto__")!.value.details.id as string;
    await api(ctx).get(`/agent_spans/${spanId}`).expect(200);
    // Replayed on retry, the same bytes, nothing run twice.
    const again = await api(ctx).post("/bulk", { items }).expect(200);
    expect(again.text).toBe(res.text);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: run.id } })).toBe(2);
  });

  it("a span type named __proto__ is refused, not silently lost", async () => {
    const res = await api(ctx).post("/agent_instance/register", {
      agent_version: { name: "proto-types", external_identifier: "1" },
      agent_schema_version: { external_identifier: "s", span_type_schemas: [{ name: "__proto__", params_schema: {} }] },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).code).toBe("invalid_value");
  });
});
