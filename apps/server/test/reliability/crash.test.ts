/**
 * Crash durability: the real server process is killed with SIGKILL several times while clients
 * ingest through both dialects, and restarted on the same data. Afterwards the database must hold
 * every span whose request was acknowledged (2xx) exactly once, no AgentVista trace half-written,
 * and nothing twice for requests whose answer was lost.
 *
 * Prefactor clients retry a request whose connection broke with the same idempotency key (as the
 * SDKs do), so each of their writes must land exactly once. AgentVista clients do not retry: a
 * batch whose answer was lost must have landed entirely or not at all.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { decodePfid, generatePfid } from "../../src/domain/shared/pfid.js";
import { freshTrace } from "../helpers/agentvista.js";
import { createScratchDatabase } from "../helpers/context.js";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

const KILLS = 4;
const PREFACTOR_LOOPS = 3;
const AGENTVISTA_LOOPS = 2;
/** Requests are bounded whatever the machine's speed. */
const MAX_REQUESTS = 4000;
const TOKEN = `crash-test-admin-${randomBytes(8).toString("hex")}`;

let env: Record<string, string>;
let port: number;
let server: RunningServer;
let cleanup = async () => {};

beforeAll(async () => {
  const base = process.env.DATABASE_URL;
  if (base) {
    const scratch = await createScratchDatabase(base, "spyglass_crash");
    env = { DATABASE_URL: scratch.url, DB_POOL_SIZE: "8" };
    cleanup = scratch.drop;
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), "spyglass-crash-"));
    env = { SPYGLASS_DATA_DIR: dir };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  env = { ...env, SPYGLASS_ADMIN_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: "0", LOG_LEVEL: "error" };
  port = await freePort();
  server = spawnServer(env, port);
  // The first start migrates a fresh database, on a machine shared with other work.
  await waitReady(server, 110_000);
});

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGKILL");
    await server.exited;
  }
  await cleanup();
});

type Outcome = { status: number; body: Record<string, unknown> } | "connection-error";

const stats = { requests: 0, acknowledged: 0, connectionErrors: 0, refused: 0, kills: 0 };
let stopping = false;

async function call(method: string, urlPath: string, body: unknown): Promise<Outcome> {
  if (++stats.requests > MAX_REQUESTS) stopping = true;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${urlPath}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) stats.acknowledged++;
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch (error) {
    stats.connectionErrors++;
    // Refused: the server was down, so the request cannot have landed; the others broke mid-flight.
    if ((error as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED") stats.refused++;
    return "connection-error";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Prefactor write retried with its idempotency key until it is answered (as the SDKs do). */
async function prefactorWrite(method: string, urlPath: string, body: Record<string, unknown>) {
  const keyed = { ...body, idempotency_key: body.idempotency_key ?? `k-${randomUUID()}` };
  for (let attempt = 0; ; attempt++) {
    const out = await call(method, urlPath, keyed);
    if (out !== "connection-error") {
      expect(out.status, `${method} ${urlPath} (attempt ${attempt}): ${JSON.stringify(out.body)}`).toBe(200);
      return out.body;
    }
    if (attempt > 600) throw new Error(`${method} ${urlPath}: server unreachable for too long`);
    await sleep(100);
  }
}

// What the clients know: every span they were told was stored, and every batch whose answer was lost.
const ackedSpans = new Map<string, string>(); // span id -> instance/trace id
const prefactorInstances = new Map<string, Set<string>>(); // instance id -> the span ids sent for it
const ackedTraces = new Map<string, Set<string>>(); // trace id -> span ids
const unknownTraces = new Map<string, Set<string>>();

let partition = 0;

async function prefactorLoop(loop: number) {
  for (let run = 0; !stopping; run++) {
    const registered = await prefactorWrite("POST", "/agent_instance/register", {
      agent_version: { name: `crash-bot-${loop}`, external_identifier: "1.0.0" },
      agent_schema_version: { external_identifier: "v1", span_type_schemas: [{ name: "step", params_schema: { type: "object" }, template: "{{ n }}" }] },
    });
    const instanceId = (registered.details as { id: string }).id;
    const sent = new Set<string>();
    prefactorInstances.set(instanceId, sent);
    await prefactorWrite("POST", `/agent_instance/${instanceId}/start`, {});
    for (let n = 0; n < 4; n++) {
      const id = generatePfid(partition);
      sent.add(id);
      // Half the spans are created finished; the others are created active and finished after.
      const done = n % 2 === 0;
      await prefactorWrite("POST", "/agent_spans", {
        details: { id, agent_instance_id: instanceId, schema_name: "step", status: done ? "complete" : "active", payload: { n }, ...(done ? { result_payload: { ok: true } } : {}) },
      });
      if (!done) await prefactorWrite("POST", `/agent_spans/${id}/finish`, { status: "complete", result_payload: { ok: true } });
      ackedSpans.set(id, instanceId);
    }
    await prefactorWrite("POST", `/agent_instance/${instanceId}/finish`, { status: "complete" });
  }
}

async function agentvistaLoop(loop: number) {
  for (let batch = 0; !stopping; batch++) {
    const traces = Array.from({ length: 1 + (batch % 3) }, (_, t) =>
      freshTrace(`crash-av-${loop}`, 3 + ((batch + t) % 4), { input_tokens: 10, output_tokens: 5, cost_usd: "0.000100" }),
    );
    const out = await call("POST", "/traces/batch", { traces });
    const record = (into: Map<string, Set<string>>) => {
      for (const t of traces) into.set(t.trace.trace_id, new Set(t.spans.map((s) => s.span_id)));
    };
    if (out === "connection-error") {
      record(unknownTraces);
      await sleep(250);
      continue;
    }
    expect(out.status, JSON.stringify(out.body)).toBe(200);
    expect(out.body).toMatchObject({ accepted: traces.length, rejected: 0 });
    record(ackedTraces);
    for (const t of traces) for (const s of t.spans) ackedSpans.set(s.span_id, t.trace.trace_id);
  }
}

async function killer() {
  for (let k = 0; k < KILLS; k++) {
    // A random moment with clients in full flow: after 30-90 more acknowledged requests (or 8 s
    // on a very slow machine), plus up to 300 ms so that the kill lands inside some request.
    const target = stats.acknowledged + 30 + Math.floor(Math.random() * 60);
    const deadline = Date.now() + 8000;
    while (stats.acknowledged < target && Date.now() < deadline && !stopping) await sleep(20);
    await sleep(Math.random() * 300);
    server.child.kill("SIGKILL");
    await server.exited;
    stats.kills++;
    server = spawnServer(env, port);
    await waitReady(server);
  }
  await sleep(1000);
  stopping = true;
}

describe("SIGKILL while ingesting through both dialects", () => {
  it(`keeps every acknowledged span exactly once and no batch half-written across ${KILLS} kills`, async () => {
    const generated = await call("POST", "/pfid/generate", { count: 1 });
    if (generated === "connection-error") throw new Error("server not reachable");
    partition = decodePfid((generated.body.details as { pfids: string[] }).pfids[0]!).partition;
    const started = Date.now();

    await Promise.all([
      killer(),
      ...Array.from({ length: PREFACTOR_LOOPS }, (_, i) => prefactorLoop(i)),
      ...Array.from({ length: AGENTVISTA_LOOPS }, (_, i) => agentvistaLoop(i)),
    ]);
    const ingestMs = Date.now() - started;

    // Stop the server cleanly and read the database directly (PGlite allows one process at a time).
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    let db: Database | undefined;
    try {
      db = await openDatabase({ DATABASE_URL: env.DATABASE_URL, SPYGLASS_DATA_DIR: env.SPYGLASS_DATA_DIR ?? "memory://", DB_POOL_SIZE: 2 }, { migrate: false });
      const spans = await db.prisma.span.findMany({ select: { id: true, agentInstanceId: true, status: true } });
      const instances = await db.prisma.agentInstance.findMany({ select: { id: true, status: true } });

      const rowsById = new Map<string, number>();
      for (const s of spans) rowsById.set(s.id, (rowsById.get(s.id) ?? 0) + 1);
      const spansOf = new Map<string, string[]>();
      for (const s of spans) spansOf.set(s.agentInstanceId, [...(spansOf.get(s.agentInstanceId) ?? []), s.id]);
      const instanceIds = new Set(instances.map((i) => i.id));

      // Every acknowledged span, exactly once, under the run it was sent for.
      for (const [spanId, runId] of ackedSpans) {
        expect(rowsById.get(spanId), `acknowledged span ${spanId}`).toBe(1);
        expect(spans.find((s) => s.id === spanId)?.agentInstanceId).toBe(runId);
      }
      for (const [id, count] of rowsById) expect(count, `span ${id}`).toBe(1);

      // Prefactor: one instance per register (retried with its key), finished, holding exactly the
      // spans sent for it — the one in progress when the loops stopped excepted.
      const avIds = new Set([...ackedTraces.keys(), ...unknownTraces.keys()]);
      const prefactorRows = instances.filter((i) => !avIds.has(i.id));
      expect(prefactorRows.map((i) => i.id).sort()).toEqual([...prefactorInstances.keys()].sort());
      for (const [instanceId, sent] of prefactorInstances) {
        const stored = spansOf.get(instanceId) ?? [];
        for (const id of stored) expect(sent.has(id), `span ${id} was never sent for ${instanceId}`).toBe(true);
      }
      const finished = prefactorRows.filter((i) => i.status === "complete").length;
      expect(finished).toBeGreaterThanOrEqual(prefactorInstances.size - PREFACTOR_LOOPS);

      // AgentVista: acknowledged traces whole; unanswered ones whole or absent.
      for (const [traceId, sent] of ackedTraces) {
        expect(instanceIds.has(traceId), `acknowledged trace ${traceId}`).toBe(true);
        expect(new Set(spansOf.get(traceId))).toEqual(sent);
      }
      let landed = 0;
      for (const [traceId, sent] of unknownTraces) {
        const stored = spansOf.get(traceId) ?? [];
        if (instanceIds.has(traceId)) {
          landed++;
          expect(new Set(stored), `trace ${traceId} half-written`).toEqual(sent);
        } else {
          expect(stored, `spans of absent trace ${traceId}`).toEqual([]);
        }
      }

      expect(stats.kills).toBe(KILLS);
      expect(stats.connectionErrors).toBeGreaterThan(0);
      console.log(
        `crash (${env.DATABASE_URL ? "PostgreSQL" : "PGlite"}): ${stats.kills} kills survived in ${(ingestMs / 1000).toFixed(1)} s; ` +
          `${stats.requests} requests, ${stats.acknowledged} acknowledged, ${stats.connectionErrors} connection errors (${stats.connectionErrors - stats.refused} broken mid-request); ` +
          `${ackedSpans.size} acknowledged spans checked (${spans.length} stored), ${prefactorInstances.size} Prefactor runs, ` +
          `${ackedTraces.size} acknowledged traces, ${unknownTraces.size} unanswered (${landed} landed whole, ${unknownTraces.size - landed} absent)`,
      );
    } finally {
      await db?.close();
    }
  }, 120_000);
});
