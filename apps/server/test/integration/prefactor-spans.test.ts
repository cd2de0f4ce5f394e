import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentInstanceResponseSchema, AgentSpanListSchema, AgentSpanResponseSchema, BulkResponseSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { api, registerInstance, startedInstance } from "../helpers/prefactor.js";

let ctx: TestContext;
let a: ReturnType<typeof api>;
beforeAll(async () => {
  ctx = await createTestContext();
  a = api(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const errorOf = (body: unknown) => ErrorEnvelopeSchema.parse(body);
const spanOf = (body: unknown) => AgentSpanResponseSchema.parse(body).details;

function createSpan(instanceId: string, details: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return a.post("/agent_spans", { details: { agent_instance_id: instanceId, payload: {}, ...details }, ...extra });
}

describe("seed 004: llm and tool span types", () => {
  it("validates payloads, flags an extra tool result property and renders the llm summary at finish", async () => {
    const inst = await startedInstance(ctx);
    const llm = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active", payload: { model: "gpt-4o", temperature: 0.2, prompt: "Hi" } }).expect(200)).body);
    expect(llm).toMatchObject({ schema_title: "LLM", status: "active", payload_validation: { status: "valid", errors: [] }, summary: "gpt-4o: Hi →" });
    expect(llm).not.toHaveProperty("result_payload");
    const done = spanOf((await a.post(`/agent_spans/${llm.id}/finish`, { result_payload: { tokens: 12, response: "Hello!" } }).expect(200)).body);
    expect(done).toMatchObject({ status: "complete", result_payload: { tokens: 12, response: "Hello!" }, summary: "gpt-4o: Hi → Hello!" });
    expect(done.payload_validation.status).toBe("valid");

    const tool = spanOf((await createSpan(inst.id, { schema_name: "tool", status: "active", parent_span_id: llm.id, payload: { name: "search", input: { q: "x" } } }).expect(200)).body);
    expect(tool).toMatchObject({ schema_title: "tool", parent_span_id: llm.id, payload_validation: { status: "valid" }, summary: null });
    const toolDone = spanOf((await a.post(`/agent_spans/${tool.id}/finish`, { result_payload: { hits: 3 } }).expect(200)).body);
    expect(toolDone.payload_validation.status).toBe("invalid");
    expect(toolDone.payload_validation.errors).toEqual([expect.objectContaining({ target: "result_payload", message: expect.stringContaining("hits") })]);

    const wrongType = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active", payload: { model: 7 } }).expect(200)).body);
    expect(wrongType.payload_validation).toMatchObject({ status: "invalid", errors: [{ path: "model", target: "payload" }] });
  });

  it("flags an unknown schema_name as unchecked", async () => {
    const inst = await startedInstance(ctx);
    const span = spanOf((await createSpan(inst.id, { schema_name: "mystery", status: "active" }).expect(200)).body);
    expect(span.payload_validation.status).toBe("unchecked");
    expect(span.payload_validation.errors[0]!.message).toContain("mystery");
    expect(span.schema_title).toBe("mystery");
  });
});

describe("strict validation mode", () => {
  it("rejects mismatching payloads and unknown span types with per-field errors", async () => {
    const strict = await createTestContext({ SPAN_VALIDATION: "strict" });
    try {
      const s = api(strict);
      const inst = await startedInstance(strict);
      const bad = await s.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: { model: 7 } } }).expect(400);
      expect(errorOf(bad.body).code).toBe("invalid_value");
      expect(bad.body.errors["details.payload.model"]).toMatchObject({ code: "invalid_value" });
      const unknown = await s.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "mystery", status: "active", payload: {} } }).expect(400);
      expect(unknown.body.errors["details.schema_name"]).toBeDefined();
      const tool = spanOf((await s.post("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "tool", status: "active", payload: {} } }).expect(200)).body);
      const extra = await s.post(`/agent_spans/${tool.id}/finish`, { result_payload: { hits: 3 } }).expect(400);
      expect(extra.body.errors["details.result_payload"]).toBeDefined();
      expect((await s.get(`/agent_spans/${tool.id}`).expect(200)).body.details.status).toBe("active");
      const count = await strict.db.prisma.span.count({ where: { agentInstanceId: inst.id } });
      expect(count).toBe(1);
    } finally {
      await strict.close();
    }
  });
});

describe("the span state machine", () => {
  it("creates spans as pending, active or terminal with the right timestamps", async () => {
    const inst = await startedInstance(ctx);
    const pending = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "pending" }).expect(200)).body);
    expect(pending).toMatchObject({ status: "pending", started_at: null, finished_at: null });
    const complete = spanOf(
      (await createSpan(inst.id, { schema_name: "llm", status: "complete", started_at: "2026-02-01T00:00:00Z", finished_at: "2026-02-01T00:00:05Z", result_payload: { tokens: 1 } }).expect(200)).body,
    );
    expect(complete).toMatchObject({ status: "complete", started_at: "2026-02-01T00:00:00.000Z", finished_at: "2026-02-01T00:00:05.000Z", result_payload: { tokens: 1 } });
    const cancelled = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "cancelled", finished_at: "2026-02-02T00:00:00Z" }).expect(200)).body);
    expect(cancelled.started_at).toBe("2026-02-02T00:00:00.000Z");
    expect(cancelled.finished_at).toBe("2026-02-02T00:00:00.000Z");
  });

  it("allows cancelled only from pending and complete/failed only from active", async () => {
    const inst = await startedInstance(ctx);
    const pending = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "pending" }).expect(200)).body);
    expect(errorOf((await a.post(`/agent_spans/${pending.id}/finish`, {}).expect(409)).body).code).toBe("invalid_action");
    const cancelled = spanOf((await a.post(`/agent_spans/${pending.id}/finish`, { status: "cancelled", timestamp: "2026-04-01T00:00:00Z" }).expect(200)).body);
    expect(cancelled).toMatchObject({ status: "cancelled", started_at: "2026-04-01T00:00:00.000Z", finished_at: "2026-04-01T00:00:00.000Z" });
    expect(errorOf((await a.post(`/agent_spans/${pending.id}/finish`, { status: "cancelled" }).expect(409)).body).code).toBe("invalid_action");

    const active = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
    expect(errorOf((await a.post(`/agent_spans/${active.id}/finish`, { status: "cancelled" }).expect(409)).body).code).toBe("invalid_action");
    expect(spanOf((await a.post(`/agent_spans/${active.id}/finish`, { status: "failed" }).expect(200)).body).status).toBe("failed");
    expect(errorOf((await a.post(`/agent_spans/${active.id}/finish`, {}).expect(409)).body).code).toBe("invalid_action");
  });

  it("rejects result_payload on a non-terminal span and a parent from another instance", async () => {
    const inst = await startedInstance(ctx);
    const res = await createSpan(inst.id, { schema_name: "llm", status: "active", result_payload: { tokens: 1 } }).expect(400);
    expect(errorOf(res.body).code).toBe("invalid_value");
    expect(res.body.errors["details.result_payload"]).toBeDefined();

    const other = await startedInstance(ctx);
    const foreign = spanOf((await createSpan(other.id, { schema_name: "llm", status: "active" }).expect(200)).body);
    const parent = await createSpan(inst.id, { schema_name: "llm", status: "active", parent_span_id: foreign.id }).expect(400);
    expect(parent.body.errors["details.parent_span_id"]).toBeDefined();
    await createSpan(inst.id, { schema_name: "llm", status: "active", parent_span_id: "no-such-span" }).expect(400);
  });

  it("refuses spans on a finished instance", async () => {
    const inst = await startedInstance(ctx);
    await a.post(`/agent_instance/${inst.id}/finish`, {}).expect(200);
    const res = await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(409);
    expect(errorOf(res.body)).toMatchObject({ code: "invalid_action" });
    expect(res.body.control).toBeUndefined();
  });

  it("lets exactly one of 50 concurrent finishes of a span succeed", async () => {
    const inst = await startedInstance(ctx);
    const span = spanOf((await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200)).body);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.post(`/agent_spans/${span.id}/finish`, { result_payload: { tokens: i } })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(49);
    for (const r of results.filter((x) => x.status === 409)) expect(errorOf(r.body).code).toBe("invalid_action");
  });

  it("counts spans on the instance", async () => {
    const inst = await startedInstance(ctx);
    await createSpan(inst.id, { schema_name: "llm", status: "active" }).expect(200);
    await createSpan(inst.id, { schema_name: "llm", status: "pending" }).expect(200);
    await createSpan(inst.id, { schema_name: "llm", status: "complete" }).expect(200);
    const details = AgentInstanceResponseSchema.parse((await a.get(`/agent_instance/${inst.id}`).expect(200)).body).details;
    expect(details.span_counts).toEqual({ total: 3, pending: 1, active: 1, complete: 1, failed: 0, cancelled: 0, finished: 1 });
  });
});

describe("an SDK-driven run with every call retried once", () => {
  it("leaves exactly one copy of each span", async () => {
    let n = 0;
    const twice = async (path: string, body: Record<string, unknown>) => {
      const withKey = { ...body, idempotency_key: `sdk-run-${++n}` };
      const first = await a.post(path, withKey);
      const retry = await a.post(path, withKey);
      expect(first.status).toBe(200);
      expect(retry.text).toBe(first.text);
      return first.body.details;
    };
    const inst = await twice("/agent_instance/register", {
      agent_version: { name: "sdk-bot", external_identifier: "3.1.4" },
      agent_schema_version: { external_identifier: "v0", span_schemas: { agent: { type: "object" }, llm: { type: "object" } } },
    });
    await twice(`/agent_instance/${inst.id}/start`, {});
    const root = await twice("/agent_spans", { details: { agent_instance_id: inst.id, schema_name: "agent", status: "active", payload: {} } });
    const children = [];
    for (let i = 0; i < 3; i++) {
      // the Python SDK puts the key inside details
      const withKey = { details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: { i }, parent_span_id: root.id, idempotency_key: `py-${i}` } };
      const first = await a.post("/agent_spans", withKey).expect(200);
      const retry = await a.post("/agent_spans", withKey).expect(200);
      expect(retry.text).toBe(first.text);
      children.push(first.body.details);
    }
    for (const child of children) await twice(`/agent_spans/${child.id}/finish`, { result_payload: {} });
    await twice(`/agent_spans/${root.id}/finish`, {});
    await twice(`/agent_instance/${inst.id}/finish`, {});
    const list = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}`).expect(200)).body);
    expect(list.summaries).toHaveLength(4);
    expect(new Set(list.summaries.map((s) => s.id)).size).toBe(4);
    expect(list.summaries.every((s) => s.status === "complete")).toBe(true);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: inst.id } })).toBe(4);
  });
});

describe("templates are sandboxed and bounded", () => {
  it("cannot hang the server or read files, and __proto__ payloads are harmless", async () => {
    const templates = {
      loop: "{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}",
      include: "{% include '/etc/passwd' %}",
      render: "{% render '../../../../etc/passwd' %}",
      layout: "{% layout '/etc/hosts' %}",
      recursion: `${"{% if true %}".repeat(350)}deep${"{% endif %}".repeat(350)}`,
      blowup: '{% assign a = "1,2,3" | split: "," %}{% for i in (1..40) %}{% assign a = a | concat: a %}{% endfor %}{{ a | size }}',
      proto: "{{ __proto__.polluted }}|{{ constructor.name }}|{{ a.b }}",
      huge: "{% for i in (1..100000) %}0123456789{% endfor %}",
    };
    const inst = await registerInstance(ctx, {
      agent_version: { name: "sandbox-bot", external_identifier: "1" },
      agent_schema_version: {
        external_identifier: "evil",
        span_type_schemas: Object.entries(templates).map(([name, template]) => ({ name, params_schema: { type: "object" }, template })),
      },
    });
    await a.post(`/agent_instance/${inst.id}/start`, {}).expect(200);
    const started = Date.now();
    const summaries: Record<string, string | null | undefined> = {};
    for (const name of Object.keys(templates)) {
      const payload = name === "proto" ? JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {"b": "ok"}}') : {};
      const res = await createSpan(inst.id, { schema_name: name, status: "active", payload }).expect(200);
      summaries[name] = spanOf(res.body).summary;
      if (name === "proto") expect(res.body.details.payload).toEqual(JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {"b": "ok"}}'));
    }
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(summaries.loop).toBeNull();
    expect(summaries.include).toBeNull();
    expect(summaries.render).toBeNull();
    expect(summaries.layout).toBeNull();
    expect(summaries.blowup).toBeNull();
    expect(summaries.proto).toBe("yes||ok");
    expect(summaries.huge === null || summaries.huge!.length <= 1000).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const s of Object.values(summaries)) expect(s ?? "").not.toContain("root:");
    await ctx.http().get("/healthz").expect(200);
  });
});

describe("GET /agent_spans", () => {
  it("requires an instance or agent, filters, and includes summaries on request", async () => {
    const inst = await startedInstance(ctx);
    await createSpan(inst.id, { schema_name: "llm", status: "active", payload: { model: "m", prompt: "p" } }).expect(200);
    await createSpan(inst.id, { schema_name: "tool", status: "complete", result_payload: {} }).expect(200);
    expect(errorOf((await a.get("/agent_spans").expect(400)).body).code).toBe("required_value");
    const plain = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}`).expect(200)).body);
    expect(plain.summaries).toHaveLength(2);
    expect(plain.summaries[0]).not.toHaveProperty("summary");
    const withSummaries = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}&include_summaries=true`).expect(200)).body);
    expect(withSummaries.summaries.find((s) => s.schema_name === "llm")!.summary).toBe("m: p →");
    const tools = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_id=${inst.agent_id}&schema_name=tool&status=complete`).expect(200)).body);
    expect(tools.summaries.every((s) => s.schema_name === "tool" && s.status === "complete")).toBe(true);
    const future = AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}&start_time=2999-01-01T00:00:00Z`).expect(200)).body);
    expect(future.summaries).toHaveLength(0);
  });

  it("sorts by a time field either way, pages with a stable order and filters by a start window", async () => {
    const inst = await startedInstance(ctx);
    const at = (minute: number) => `2026-01-01T00:0${minute}:00.000Z`;
    const ids: string[] = [];
    for (const minute of [3, 1, 4, 2]) {
      const res = await createSpan(inst.id, { schema_name: "tool", status: "complete", started_at: at(minute), finished_at: at(minute + 1), result_payload: {} }).expect(200);
      ids.push(spanOf(res.body).id);
    }
    const startedOf = async (query: string) =>
      AgentSpanListSchema.parse((await a.get(`/agent_spans?agent_instance_id=${inst.id}&${query}`).expect(200)).body);
    const asc = await startedOf("");
    expect(asc.summaries.map((s) => s.started_at)).toEqual([1, 2, 3, 4].map(at));
    expect(asc.pagination.item_count).toBe(4);
    const desc = await startedOf("sorting=-finished_at");
    expect(desc.summaries.map((s) => s.finished_at)).toEqual([5, 4, 3, 2].map(at));
    const second = await startedOf("sorting=-started_at&pagination%5Bpage_size%5D=2&pagination%5Boffset%5D=2");
    expect(second.summaries.map((s) => s.started_at)).toEqual([2, 1].map(at));
    expect(second.pagination.item_count).toBe(4);
    const window = await startedOf(`start_time=${at(2)}&end_time=${at(4)}`);
    expect(window.summaries.map((s) => s.started_at)).toEqual([2, 3].map(at));
    expect(window.pagination.item_count).toBe(2);
  });
});

describe("POST /bulk", () => {
  it("runs items in order, keyed by idempotency key, and stops at the first error", async () => {
    const inst = await startedInstance(ctx);
    const [spanId] = (await a.post("/pfid/generate", {}).expect(200)).body.details.pfids;
    const items = [
      { _type: "agent_spans/create", idempotency_key: "bulk-item-1", details: { agent_instance_id: inst.id, schema_name: "llm", status: "active", payload: { model: "m" }, id: spanId } },
      { _type: "agent_spans/finish", idempotency_key: "bulk-item-2", agent_span_id: spanId, result_payload: { tokens: 2 } },
      { _type: "agent_spans/finish", idempotency_key: "bulk-item-3", agent_span_id: spanId },
      { _type: "agent_instances/finish", idempotency_key: "bulk-item-4", agent_instance_id: inst.id },
    ];
    const res = await a.post("/bulk", { items }).expect(200);
    const body = BulkResponseSchema.parse(res.body);
    expect(Object.keys(body.outputs)).toEqual(["bulk-item-1", "bulk-item-2", "bulk-item-3"]);
    expect(body.outputs["bulk-item-1"]).toMatchObject({ status: "success", details: { id: spanId, status: "active" } });
    expect(body.outputs["bulk-item-2"]).toMatchObject({ status: "success", details: { status: "complete" } });
    expect(body.outputs["bulk-item-3"]).toMatchObject({ status: "error", code: "invalid_action" });
    expect((await a.get(`/agent_instance/${inst.id}`).expect(200)).body.details.status).toBe("active");

    // a retried bulk replays what ran and does not run it twice
    const again = BulkResponseSchema.parse((await a.post("/bulk", { items: items.slice(0, 2) }).expect(200)).body);
    expect(again.outputs["bulk-item-1"]).toEqual(body.outputs["bulk-item-1"]);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: inst.id } })).toBe(1);
  });

  const pfids = async (count: number): Promise<string[]> => (await a.post("/pfid/generate", { count }).expect(200)).body.details.pfids;
  const createItem = (key: string, details: Record<string, unknown>) => ({ _type: "agent_spans/create", idempotency_key: key, details: { schema_name: "llm", payload: { model: "m" }, ...details } });
  const finishItem = (key: string, id: string) => ({ _type: "agent_spans/finish", idempotency_key: key, agent_span_id: id, result_payload: { tokens: 1 } });

  it("stores a run of span writes with one commit, and replays it on a retry", async () => {
    const inst = await startedInstance(ctx);
    const ids = await pfids(10);
    const items = ids.flatMap((id, i) => [
      createItem(`one-commit-c${i}`, { agent_instance_id: inst.id, status: "active", id, parent_span_id: i > 0 ? ids[0] : undefined }),
      finishItem(`one-commit-f${i}`, id),
    ]);
    const body = BulkResponseSchema.parse((await a.post("/bulk", { items }).expect(200)).body);
    // A row's xmin is the transaction that last wrote it: the spans' distinct xmins are the commits
    // that stored them (counted on the rows, so other test files' transactions on the same
    // PostgreSQL server cannot blur the figure, as the server-wide transaction counter did).
    const writers = (
      await ctx.db.sql.query<{ n: number }>("SELECT count(DISTINCT xmin::text)::int AS n FROM spans WHERE agent_instance_id = $1", [inst.id])
    )[0]!.n;
    expect(Object.keys(body.outputs)).toEqual(items.map((i) => i.idempotency_key));
    for (const [i, id] of ids.entries()) {
      expect(body.outputs[`one-commit-c${i}`]).toMatchObject({ status: "success", details: { id, status: "active", parent_span_id: i > 0 ? ids[0] : null } });
      const finished = spanOf(body.outputs[`one-commit-f${i}`]);
      expect(finished).toMatchObject({ id, status: "complete", result_payload: { tokens: 1 } });
      expect(spanOf((await a.get(`/agent_spans/${id}`).expect(200)).body)).toEqual(finished);
    }
    // One by one, each span's finish would be its own commit (10); the embedded database has a
    // single session and runs them so.
    if (ctx.db.kind === "postgresql") expect(writers).toBe(1);
    else expect(writers).toBe(ids.length);

    const again = BulkResponseSchema.parse((await a.post("/bulk", { items }).expect(200)).body);
    expect(again).toEqual(body);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: inst.id } })).toBe(ids.length);
  });

  it("answers a failing span write in a run as one by one: the items before it stored, its own error, nothing after", async () => {
    const inst = await startedInstance(ctx);
    const [first, second] = await pfids(2);
    const items = [
      createItem("fail-run-1", { agent_instance_id: inst.id, status: "active", id: first }),
      createItem("fail-run-2", { agent_instance_id: inst.id, status: "active", id: second, parent_span_id: first }),
      finishItem("fail-run-3", first!),
      // The same span id again: only a write that can see the first one can say why it fails.
      createItem("fail-run-4", { agent_instance_id: inst.id, status: "active", id: first }),
      createItem("fail-run-5", { agent_instance_id: inst.id, status: "active" }),
    ];
    const body = BulkResponseSchema.parse((await a.post("/bulk", { items }).expect(200)).body);
    expect(Object.keys(body.outputs)).toEqual(["fail-run-1", "fail-run-2", "fail-run-3", "fail-run-4"]);
    expect(body.outputs["fail-run-4"]).toMatchObject({ status: "error", code: "invalid_action", message: expect.stringContaining("already exists") });
    const stored = await ctx.db.prisma.span.findMany({ where: { agentInstanceId: inst.id }, orderBy: { id: "asc" } });
    expect(stored.map((s) => [s.id, s.status]).sort()).toEqual([[first, "complete"], [second, "active"]].sort());
    // The outputs are what was stored, and a retry replays them.
    expect(body.outputs["fail-run-3"]).toEqual((await a.get(`/agent_spans/${first}`).expect(200)).body);
    const again = BulkResponseSchema.parse((await a.post("/bulk", { items: items.slice(0, 3) }).expect(200)).body);
    expect(again.outputs).toEqual(Object.fromEntries(Object.entries(body.outputs).slice(0, 3)));
  });

  it("gives two concurrent copies of one bulk request the same outputs and one effect", async () => {
    const inst = await startedInstance(ctx);
    const ids = await pfids(8);
    const items = ids.flatMap((id, i) => [
      createItem(`twin-create-${i}`, { agent_instance_id: inst.id, status: "active", id }),
      finishItem(`twin-finish-${i}`, id),
    ]);
    const [one, two] = await Promise.all([a.post("/bulk", { items }).expect(200), a.post("/bulk", { items }).expect(200)]);
    const first = BulkResponseSchema.parse(one.body);
    expect(Object.keys(first.outputs)).toEqual(items.map((i) => i.idempotency_key));
    expect(Object.values(first.outputs).every((o) => (o as { status: string }).status === "success")).toBe(true);
    expect(BulkResponseSchema.parse(two.body)).toEqual(first);
    expect(await ctx.db.prisma.span.count({ where: { agentInstanceId: inst.id, status: "complete" } })).toBe(ids.length);
  });

  it("validates the envelope: key length, duplicates, item count", async () => {
    expect(errorOf((await a.post("/bulk", { items: [{ _type: "agent_spans/create", idempotency_key: "short" }] }).expect(400)).body).code).toBe("invalid_value");
    const dup = { _type: "agent_instances/start", idempotency_key: "dup-key-1", agent_instance_id: "x" };
    expect(errorOf((await a.post("/bulk", { items: [dup, dup] }).expect(400)).body).message).toContain("duplicate");
    const many = Array.from({ length: 101 }, (_, i) => ({ ...dup, idempotency_key: `key-many-${i}` }));
    await a.post("/bulk", { items: many }).expect(400);
    await a.post("/bulk", { items: [] }).expect(400);
    const badItem = BulkResponseSchema.parse((await a.post("/bulk", { items: [{ _type: "agent_spans/create", idempotency_key: "bad-item-1", details: { status: "active" } }] }).expect(200)).body);
    expect(badItem.outputs["bad-item-1"]).toMatchObject({ status: "error", code: "required_value" });
  });
});
