// The request-per-span floor: the least any HTTP server can do for the Prefactor create+finish
// workload on this machine. Bare node:http (no framework, no authentication, no validation, no
// summaries, no logging), JSON.parse of the body, and exactly one parameterized statement per span
// request on a `pg` pool of the same size as the server's: create = one INSERT of the span row,
// finish = one UPDATE. The run, start and instance-finish calls the workload makes untimed are
// answered without touching the database. Rows go to `bench_floor_spans`, a copy of `spans` with
// its indexes (the orchestrator creates and drops it), so PostgreSQL does the same work per row.
//
// Started by run.ts (startServer with script) with DATABASE_URL, HOST, PORT and DB_POOL_SIZE.
import { randomUUID } from "node:crypto";
import http from "node:http";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE || 20) });
const ACCOUNT = "bench-floor";
const AGENT = "bench-floor-agent";

const INSERT = `INSERT INTO bench_floor_spans (account_id, id, agent_instance_id, agent_id, parent_span_id, schema_name, status,
                                               payload, started_at, inserted_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::timestamptz, now(), now())`;
const UPDATE = `UPDATE bench_floor_spans SET status = $3, finished_at = $4::timestamptz, result_payload = $5::jsonb, updated_at = now()
                WHERE account_id = $1 AND id = $2`;

type Json = Record<string, any>;

function send(res: http.ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function handle(method: string, url: string, body: Json): Promise<[number, Json]> {
  if (url === "/readyz") return [200, { status: "ok" }];
  const parts = url.split("?")[0]!.split("/").filter(Boolean); // api, v1, ...
  const [resource, id, action] = parts.slice(2);
  if (method !== "POST") return [404, { status: "error" }];
  if (resource === "agent_instance") {
    return [200, { status: "success", details: { id: id === "register" ? randomUUID() : id } }];
  }
  if (resource === "agent_spans" && id === undefined) {
    const d = body.details as Json;
    const spanId = randomUUID();
    await pool.query(INSERT, [
      ACCOUNT, spanId, d.agent_instance_id, AGENT, d.parent_span_id ?? null, d.schema_name, d.status,
      JSON.stringify(d.payload ?? {}), d.started_at ?? new Date().toISOString(),
    ]);
    return [200, { status: "success", details: { id: spanId } }];
  }
  if (resource === "agent_spans" && action === "finish") {
    await pool.query(UPDATE, [ACCOUNT, id, body.status ?? "complete", body.timestamp ?? new Date().toISOString(), JSON.stringify(body.result_payload ?? {})]);
    return [200, { status: "success", details: { id } }];
  }
  return [404, { status: "error" }];
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let body: Json = {};
    try {
      if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(res, 400, { status: "error", message: "malformed JSON" });
    }
    handle(req.method ?? "GET", req.url ?? "/", body).then(
      ([status, out]) => send(res, status, out),
      (error: unknown) => send(res, 500, { status: "error", message: String(error) }),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
});
