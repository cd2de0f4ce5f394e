/**
 * What Spyglass depends on failing: its PostgreSQL server stopped and started under load, a pool
 * with no free connection, a statement stuck behind a lock. Clients must be told to retry (503 with
 * Retry-After, in their dialect's envelope), never a 500, and nothing acknowledged may be lost or
 * doubled. Runs on a PostgreSQL cluster of its own (initdb + pg_ctl in a temporary directory),
 * whatever DATABASE_URL says: it stops that server, which must never be the shared one.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema, OtlpStatusSchema } from "@spyglass/contracts";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase, type Database } from "../../src/db/database.js";
import { decodePfid, generatePfid } from "../../src/domain/shared/pfid.js";
import { runIdOfTrace, spanIdOf } from "../../src/domain/traces/otel.js";
import { createLogger } from "../../src/http/logging.js";
import { createServices, type Services } from "../../src/services.js";
import { freshTrace } from "../helpers/agentvista.js";
import { createScratchDatabase } from "../helpers/context.js";
import { postgresBinaries, startPgCluster, type PgCluster } from "../helpers/pg-cluster.js";

const bin = postgresBinaries();
if (!bin) console.warn("database-outage.test.ts SKIPPED: no initdb/pg_ctl found (install PostgreSQL's server binaries to run it)");

const TOKEN = `outage-admin-${randomBytes(8).toString("hex")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Spyglass {
  base: string;
  /** The database's URL on the test cluster. */
  url: string;
  db: Database;
  services: Services;
  logLines: { level: number; msg: string; req?: { id?: string }; err?: { message?: string } }[];
  close(): Promise<void>;
}

/** The real app on a listening port, on a fresh database of the test cluster. */
async function startSpyglass(cluster: PgCluster, env: Record<string, string>): Promise<Spyglass> {
  const scratch = await createScratchDatabase(cluster.url, "spyglass_outage");
  const logLines: Spyglass["logLines"] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) logLines.push(JSON.parse(line) as Spyglass["logLines"][number]);
      done();
    },
  });
  const logger = createLogger("info", sink);
  const config = loadConfig({ DATABASE_URL: scratch.url, SPYGLASS_ADMIN_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: "0", ...env });
  const db = await openDatabase(config);
  const services = createServices(db, config, logger);
  await services.accounts.bootstrap(TOKEN);
  const server: Server = createApp({ db, config, logger, services }).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    url: scratch.url,
    db,
    services,
    logLines,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await services.close?.();
      await db.close();
      await scratch.drop().catch(() => {});
    },
  };
}

let cluster: PgCluster | undefined;

beforeAll(async () => {
  if (bin) cluster = await startPgCluster(bin);
}, 90_000);

afterAll(async () => {
  await cluster?.destroy();
});

/** Holds an ACCESS EXCLUSIVE lock on api_tokens (which every authenticated request reads) until released. */
async function lockTokens(url: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query("LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE");
  return async () => {
    await client.query("ROLLBACK");
    await client.end();
  };
}

async function timedPing(base: string): Promise<{ status: number; ms: number; retryAfter: string | null; body: unknown }> {
  const started = Date.now();
  const res = await fetch(`${base}/api/v1/ping`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, ms: Date.now() - started, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

/** A 503 unavailable with Retry-After in the Prefactor envelope, answered within [minMs, maxMs). */
function expectUnavailable(answer: Awaited<ReturnType<typeof timedPing>>, minMs: number, maxMs: number) {
  expect(answer.status).toBe(503);
  expect(answer.retryAfter).toMatch(/^[1-9]\d*$/);
  expect(ErrorEnvelopeSchema.strict().parse(answer.body).code).toBe("unavailable");
  expect(answer.ms).toBeGreaterThanOrEqual(minMs);
  expect(answer.ms).toBeLessThan(maxMs);
}

describe.skipIf(!bin)("bounded waits on PostgreSQL", () => {
  it("a statement stuck behind a lock is cancelled after DB_STATEMENT_TIMEOUT_MS: 503 with Retry-After, then served again", async () => {
    const spyglass = await startSpyglass(cluster!, { DB_STATEMENT_TIMEOUT_MS: "800", DB_POOL_SIZE: "2" });
    try {
      expect((await timedPing(spyglass.base)).status).toBe(200);
      const release = await lockTokens(spyglass.url);
      let answer;
      try {
        answer = await timedPing(spyglass.base);
      } finally {
        await release();
      }
      // Cancelled by the server at the timeout, not before, and not much after.
      expectUnavailable(answer, 800, 4000);
      const cause = spyglass.logLines.filter((l) => l.msg === "database unavailable");
      expect(cause).toHaveLength(1);
      expect(cause[0]!.err?.message).toMatch(/statement timeout/);
      expect((await timedPing(spyglass.base)).status).toBe(200);
    } finally {
      await spyglass.close();
    }
  }, 60_000);

  it("a request finding no free pooled connection within DB_POOL_ACQUIRE_TIMEOUT_MS gets 503 with Retry-After", async () => {
    const spyglass = await startSpyglass(cluster!, { DB_POOL_SIZE: "1", DB_POOL_ACQUIRE_TIMEOUT_MS: "300", DB_STATEMENT_TIMEOUT_MS: "20000" });
    try {
      expect((await timedPing(spyglass.base)).status).toBe(200);
      const release = await lockTokens(spyglass.url);
      let first;
      let second;
      try {
        // The first request takes the only connection and waits on the lock; the second waits for the connection.
        first = timedPing(spyglass.base);
        await sleep(200);
        second = await timedPing(spyglass.base);
      } finally {
        await sleep(100);
        await release();
      }
      expectUnavailable(second, 300, 3000);
      // The one holding the connection is served once the lock goes.
      expect((await first).status).toBe(200);
      expect((await timedPing(spyglass.base)).status).toBe(200);
    } finally {
      await spyglass.close();
    }
  }, 60_000);
});

const OUTAGES = 3;
/** How long each outage lasts: longer than a sweep interval (1 s here), so the sweeper meets it. */
const OUTAGE_MS = 2500;
/** Requests are bounded whatever the machine's speed. */
const MAX_REQUESTS = 6000;

describe.skipIf(!bin)("PostgreSQL stopped and started while clients ingest through both dialects", () => {
  it(`answers only 2xx or 503 with Retry-After, keeps every acknowledged span exactly once, and recovers without a restart (${OUTAGES} outages)`, async () => {
    const spyglass = await startSpyglass(cluster!, { DB_POOL_SIZE: "4", DB_POOL_ACQUIRE_TIMEOUT_MS: "1000", SWEEP_INTERVAL_MS: "1000" });
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    let requests = 0;
    let acknowledged = 0;
    let stopping = false;
    const avKey = (await spyglass.services.accounts.issueToken({ secretPrefix: "av_", accountId: (await spyglass.services.accounts.authenticate(TOKEN)).accountId, name: "outage", scopes: ["read", "write"] })).secret;

    /** One request; a 503 is checked (Retry-After, envelope) and answered with a retry by the caller. */
    type Dialect = "prefactor" | "agentvista" | "otlp";
    const envelopes = { prefactor: ErrorEnvelopeSchema.strict(), agentvista: AvErrorSchema.strict(), otlp: OtlpStatusSchema.strict().refine((s) => s.code === 14) };
    async function call(method: string, path: string, body: unknown, token: string, dialect: Dialect) {
      if (++requests > MAX_REQUESTS) stopping = true;
      const res = await fetch(`${spyglass.base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const json = (await res.json()) as Record<string, unknown>;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 503) {
        if (!/^[1-9]\d*$/.test(res.headers.get("retry-after") ?? "")) problems.push(`503 without Retry-After on ${path}`);
        const envelope = envelopes[dialect].safeParse(json);
        if (!envelope.success) problems.push(`503 outside the ${dialect} envelope on ${path}: ${JSON.stringify(json)}`);
      } else if (res.status < 200 || res.status >= 300) {
        problems.push(`${res.status} on ${method} ${path}: ${JSON.stringify(json)}`);
      } else {
        acknowledged++;
      }
      return { status: res.status, body: json };
    }

    /** Sent again after a 503 (sooner than Retry-After asks, to keep the test short) until acknowledged. */
    async function untilAcknowledged(method: string, path: string, body: unknown, token: string, dialect: Dialect) {
      for (let attempt = 0; attempt < 400; attempt++) {
        const out = await call(method, path, body, token, dialect);
        if (out.status !== 503) return out.body;
        await sleep(150);
      }
      throw new Error(`${method} ${path}: still 503 after 400 attempts`);
    }

    const ackedSpans = new Map<string, string>(); // span id -> run id
    let partition = 0;

    async function prefactorLoop(loop: number) {
      while (!stopping) {
        const keyed = (body: Record<string, unknown>) => ({ ...body, idempotency_key: `k-${randomUUID()}` });
        const registered = await untilAcknowledged("POST", "/api/v1/agent_instance/register", keyed({
          agent_version: { name: `outage-bot-${loop}`, external_identifier: "1.0.0" },
          agent_schema_version: { external_identifier: "v1", span_type_schemas: [{ name: "step", params_schema: { type: "object" } }] },
        }), TOKEN, "prefactor");
        const instanceId = (registered.details as { id: string }).id;
        await untilAcknowledged("POST", `/api/v1/agent_instance/${instanceId}/start`, keyed({}), TOKEN, "prefactor");
        const ids = Array.from({ length: 4 }, () => generatePfid(partition));
        // Half one by one (created active, then finished), half through /bulk.
        for (const id of ids.slice(0, 2)) {
          await untilAcknowledged("POST", "/api/v1/agent_spans", keyed({ details: { id, agent_instance_id: instanceId, schema_name: "step", status: "active", payload: {} } }), TOKEN, "prefactor");
          await untilAcknowledged("POST", `/api/v1/agent_spans/${id}/finish`, keyed({ status: "complete", result_payload: {} }), TOKEN, "prefactor");
          ackedSpans.set(id, instanceId);
        }
        const bulk = {
          items: ids.slice(2).map((id) => ({
            _type: "agent_spans/create",
            idempotency_key: `k-${randomUUID()}`,
            details: { id, agent_instance_id: instanceId, schema_name: "step", status: "complete", payload: {}, result_payload: {} },
          })),
        };
        const out = await untilAcknowledged("POST", "/api/v1/bulk", bulk, TOKEN, "prefactor");
        const outputs = Object.values(out.outputs as Record<string, { status?: string }>);
        if (outputs.length !== 2 || outputs.some((o) => o.status !== "success")) problems.push(`bulk answered ${JSON.stringify(out)}`);
        else for (const id of ids.slice(2)) ackedSpans.set(id, instanceId);
        await untilAcknowledged("POST", `/api/v1/agent_instance/${instanceId}/finish`, keyed({ status: "complete" }), TOKEN, "prefactor");
      }
    }

    async function agentvistaLoop(loop: number) {
      for (let batch = 0; !stopping; batch++) {
        const traces = Array.from({ length: 1 + (batch % 2) }, () => freshTrace(`outage-av-${loop}`, 3));
        // As OpenTelemetry exporters do: the same batch again after a 503.
        const out = await untilAcknowledged("POST", "/api/v1/traces/batch", { traces }, avKey, "agentvista");
        if (out.accepted !== traces.length) problems.push(`batch answered ${JSON.stringify(out)}`);
        else for (const t of traces) for (const s of t.spans) ackedSpans.set(s.span_id, t.trace.trace_id);
      }
    }

    async function otlpLoop() {
      while (!stopping) {
        const traceId = randomBytes(16).toString("hex");
        const startNs = BigInt(Date.now() - 5000) * 1_000_000n;
        const spans = Array.from({ length: 3 }, (_, i) => ({
          traceId,
          spanId: randomBytes(8).toString("hex"),
          name: `op ${i}`,
          kind: 1,
          startTimeUnixNano: String(startNs),
          endTimeUnixNano: String(startNs + 1_000_000n),
        }));
        const body = { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "outage-otel" } }] }, scopeSpans: [{ scope: { name: "test" }, spans }] }] };
        // An OpenTelemetry exporter sends the same request again after a 503 (it does not after a 500).
        const out = await untilAcknowledged("POST", "/v1/traces", body, TOKEN, "otlp");
        if (out.partialSuccess) problems.push(`OTLP export answered ${JSON.stringify(out)}`);
        else for (const span of spans) ackedSpans.set(spanIdOf(traceId, span.spanId), runIdOfTrace(traceId));
      }
    }

    // Readiness, sampled all along, against the outage windows.
    const readiness: { at: number; status: number }[] = [];
    const outages: { from: number; to: number }[] = [];
    const watchReadiness = (async () => {
      while (!stopping) {
        const res = await fetch(`${spyglass.base}/readyz`).catch(() => undefined);
        readiness.push({ at: Date.now(), status: res?.status ?? 0 });
        await sleep(100);
      }
    })();

    async function waitReady() {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if ((await fetch(`${spyglass.base}/readyz`)).status === 200) return;
        await sleep(100);
      }
      throw new Error("not ready 30 s after the database came back");
    }

    async function outagesLoop() {
      for (let n = 0; n < OUTAGES; n++) {
        const target = acknowledged + 40;
        const deadline = Date.now() + 6000;
        while (acknowledged < target && Date.now() < deadline) await sleep(20);
        const from = Date.now();
        // Alternately a clean stop (clients are told) and a crash-like one (connections just die).
        await cluster!.stop(n % 2 === 0 ? "fast" : "immediate");
        await sleep(OUTAGE_MS);
        await cluster!.start();
        outages.push({ from, to: Date.now() });
        await waitReady();
      }
      const target = acknowledged + 40;
      const deadline = Date.now() + 6000;
      while (acknowledged < target && Date.now() < deadline) await sleep(20);
      stopping = true;
    }

    const generated = await untilAcknowledged("POST", "/api/v1/pfid/generate", { count: 1 }, TOKEN, "prefactor");
    partition = decodePfid((generated.details as { pfids: string[] }).pfids[0]!).partition;
    const started = Date.now();
    try {
      await Promise.all([outagesLoop(), watchReadiness, prefactorLoop(0), prefactorLoop(1), agentvistaLoop(0), agentvistaLoop(1), otlpLoop()]);
      const elapsed = Date.now() - started;

      expect(problems).toEqual([]);
      expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([]);
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0);

      // Readiness said 503 within each outage (allowing a second for the pool to notice) and 200 after it.
      for (const { from, to } of outages) {
        expect(readiness.some((r) => r.at > from && r.at < to && r.status === 503), `readiness during the outage at ${from}`).toBe(true);
        expect(readiness.some((r) => r.at > to && r.status === 200), `readiness after the outage at ${from}`).toBe(true);
      }

      // Every acknowledged span exactly once under its run, read through the same (recovered) server's database.
      const spans = await spyglass.db.prisma.span.findMany({ select: { id: true, agentInstanceId: true } });
      const count = new Map<string, number>();
      for (const s of spans) count.set(s.id, (count.get(s.id) ?? 0) + 1);
      for (const [id, runId] of ackedSpans) {
        expect(count.get(id), `acknowledged span ${id}`).toBe(1);
        expect(spans.find((s) => s.id === id)?.agentInstanceId).toBe(runId);
      }
      for (const [id, n] of count) expect(n, `span ${id}`).toBe(1);

      // The sweeper met every outage and said so once each time, and once when it worked again; the
      // other background tasks (the idempotency purge) say at most as much.
      // A sweep that was waiting on the database when the last outage ended reports its recovery at
      // a later tick: give it a few intervals.
      const sweepLines = (msg: (m: string) => boolean) => spyglass.logLines.filter((l) => msg(l.msg)).length;
      const failed = (m: string) => m.startsWith("stale-run sweep failed");
      const recovered = (m: string) => m === "stale-run sweeps work again";
      for (const until = Date.now() + 10_000; sweepLines(recovered) < sweepLines(failed) && Date.now() < until; ) await sleep(100);
      const sweepFailures = sweepLines(failed);
      const sweepRecoveries = sweepLines(recovered);
      expect(sweepFailures).toBeGreaterThan(0);
      expect(sweepFailures).toBeLessThanOrEqual(OUTAGES);
      expect(sweepRecoveries).toBe(sweepFailures);
      const taskFailures = spyglass.logLines.filter((l) => l.msg.endsWith(" failed; retrying every interval until it works"));
      for (const task of new Set(taskFailures.map((l) => l.msg))) {
        expect(taskFailures.filter((l) => l.msg === task).length, task).toBeLessThanOrEqual(OUTAGES);
      }
      // One warn line per refused request, with its id; no error line for a 503.
      const unavailable = spyglass.logLines.filter((l) => l.msg === "database unavailable");
      expect(unavailable.length).toBe(statuses.get(503));
      expect(unavailable.every((l) => typeof l.req?.id === "string")).toBe(true);
      expect(spyglass.logLines.filter((l) => l.level >= 50 && !taskFailures.includes(l))).toEqual([]);

      console.log(
        `database outage: ${OUTAGES} outages of ${OUTAGE_MS} ms in ${(elapsed / 1000).toFixed(1)} s; ${requests} requests, ` +
          `statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${ackedSpans.size} acknowledged spans checked (${spans.length} stored); ` +
          `sweeper: ${sweepFailures} failure lines, ${sweepRecoveries} recovery lines`,
      );
    } finally {
      stopping = true;
      await spyglass.close();
    }
  }, 150_000);
});
