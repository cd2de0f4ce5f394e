/**
 * Secrets stay secret: tokens are kept only as sha256 hashes, nothing a client sends as a
 * credential reaches the log (whatever the request's fate), and a database failure comes back as
 * a bare "unavailable" error (503, retry later) without internals while /readyz reports it.
 */
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import request from "supertest";
import type { Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema, ReadySchema } from "@spyglass/contracts";
import { hashSecret, sameHash } from "../../src/domain/accounts/tokens.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { appLoggingTo } from "../helpers/log-capture.js";

let ctx: TestContext;
let app: Express;
const logLines: string[] = [];
const secrets: Record<string, string> = {};

beforeAll(async () => {
  ctx = await createTestContext();
  app = appLoggingTo(ctx, logLines);
  secrets.admin = ctx.token;
  secrets.tenant = (await ctx.newAccount("tenant")).token;
  secrets.avKey = (await ctx.services.accounts.issueToken({ accountId: ctx.accountId, scopes: ["read", "write"], secretPrefix: "av_" })).secret;
  secrets.unknown = `sg_${randomBytes(32).toString("hex")}`;
});

afterAll(async () => {
  await restoreDatabase?.();
  await ctx?.close().catch(() => {
    // The embedded database was closed on purpose below; closing it again reports that.
  });
});

/** Every way a client might hand over (or mishandle) a secret. */
function requestsCarrying(secret: string) {
  const http = () => request(app);
  const bearer = { Authorization: `Bearer ${secret}` };
  return [
    http().get("/api/v1/ping").set(bearer),
    http().get("/api/v1/account").set(bearer),
    http().get("/api/v1/me/api-keys/ping").set(bearer),
    http().get("/api/v1/nowhere").set(bearer),
    http().get(`/api/v1/ping?token=${secret}&api_key=${secret}&access_token=${encodeURIComponent(secret)}`),
    http().get(`/api/v1/ping?token=${secret}`).set(bearer),
    http().get(`/api/v1/traces?api_key=${secret}`),
    http().post("/api/v1/ping").set(bearer).set("Content-Type", "application/json").send(`{"token": "${secret}"`),
    http().post("/api/v1/traces/batch").set(bearer).set("Content-Type", "application/json").send(`{"api_key": "${secret}", "traces": [`),
    http().get("/api/v1/ping").set("Authorization", `Basic ${Buffer.from(`user:${secret}`).toString("base64")}`),
    http().get("/api/v1/ping").set("Authorization", `Bearer ${secret} trailing`),
    http().get("/api/v1/ping").set("Authorization", secret),
    http().get("/api/v1/ping").set("X-Api-Key", secret).set("Cookie", `token=${secret}`),
    http().get("/api/v1/ping").set(bearer).set("X-Prefactor-SDK", "prefactor-core@1.0.0"),
  ];
}

function forms(secret: string): string[] {
  return [secret, secret.slice(3), encodeURIComponent(secret), Buffer.from(secret).toString("base64"), Buffer.from(`user:${secret}`).toString("base64")];
}

describe("tokens at rest", () => {
  it("stores only the sha256 of each secret, and no secret anywhere in the database", async () => {
    const rows = await ctx.db.prisma.apiToken.findMany();
    for (const secret of [secrets.admin!, secrets.tenant!, secrets.avKey!]) {
      const hash = createHash("sha256").update(secret, "utf8").digest("hex");
      const row = rows.find((r) => r.tokenHash === hash);
      expect(row).toBeDefined();
      expect(row!.prefix).toBe(secret.slice(0, 11));
    }
    const tables = await ctx.db.prisma.$queryRawUnsafe<Array<{ name: string }>>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    expect(tables.map((t) => t.name)).toContain("api_tokens");
    for (const { name } of tables) {
      const dump = await ctx.db.prisma.$queryRawUnsafe<Array<{ row: string }>>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
      const text = dump.map((d) => d.row).join("\n");
      for (const secret of Object.values(secrets)) for (const form of forms(secret)) expect(text.includes(form), `${name} holds a secret`).toBe(false);
    }
  });

  it("compares hashes in constant time and never throws on odd input", () => {
    const h = hashSecret("some secret");
    expect(sameHash(h, hashSecret("some secret"))).toBe(true);
    expect(sameHash(h, hashSecret("some secreT"))).toBe(false);
    expect(sameHash(h, h.slice(0, 10))).toBe(false);
    expect(sameHash(h, "not hex at all")).toBe(false);
    expect(sameHash("", "")).toBe(true);
  });
});

describe("logs", () => {
  it("never contain a credential, whether the request succeeds, fails or misplaces it", async () => {
    let sent = 0;
    for (const secret of Object.values(secrets)) {
      for (const req of requestsCarrying(secret)) {
        await req;
        sent++;
      }
    }
    const log = logLines.join("");
    // The capture works: one line per request, with method, path and status.
    const requestLines = logLines.map((l) => JSON.parse(l) as { req?: { path?: string }; res?: { status?: number } }).filter((l) => l.req);
    expect(requestLines.length).toBeGreaterThanOrEqual(sent);
    expect(requestLines.some((l) => l.res?.status === 401)).toBe(true);
    expect(requestLines.some((l) => l.res?.status === 200)).toBe(true);
    expect(requestLines.some((l) => l.res?.status === 400)).toBe(true);
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form of forms(secret)) expect(log.includes(form), `the ${name} secret reached the log`).toBe(false);
    }
  });

  it("say which request each line is about, under the id the client sees", async () => {
    const start = logLines.length;
    await request(app).get("/api/v1/ping?verbose=1").set("Authorization", `Bearer ${secrets.admin}`).set("X-Request-Id", "log-line-1").expect(200);
    const lines = logLines.slice(start).map((l) => JSON.parse(l) as Record<string, any>);
    const line = lines.find((l) => l.req?.id === "log-line-1");
    expect(line).toMatchObject({ level: 30, msg: "request completed", req: { method: "GET", path: "/api/v1/ping" }, res: { status: 200 } });
    expect(typeof line!.responseTime).toBe("number");
  });
});

let restoreDatabase: (() => Promise<void>) | undefined;

/** Makes every query fail: the embedded database is closed; a PostgreSQL database stops taking connections. */
async function breakDatabase(): Promise<void> {
  if (ctx.db.kind === "pglite") {
    await ctx.db.close();
    return;
  }
  const url = new URL(ctx.config.DATABASE_URL!);
  const name = url.pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
  await admin.end();
  restoreDatabase = async () => {
    const again = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await again.connect();
    await again.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    await again.end();
    restoreDatabase = undefined;
  };
}

const INTERNALS = /PGlite|closed|pool|connect|terminat|prisma|postgres|SQL|SELECT|api_tokens|\bat \S+ \(|\.ts:\d|node_modules|ECONN|57P01|08P01|08006/i;

describe("when the database fails", () => {
  it("answers 503 unavailable with Retry-After in each dialect's envelope, without internals, and /readyz says 503", async () => {
    await breakDatabase();
    const logStart = logLines.length;

    const prefactor = await request(app).get("/api/v1/ping").set("Authorization", `Bearer ${secrets.admin}`);
    expect(prefactor.status).toBe(503);
    expect(prefactor.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
    const body = ErrorEnvelopeSchema.strict().parse(prefactor.body);
    expect(Object.keys(prefactor.body).sort()).toEqual(["code", "message", "status"]);
    expect(body.code).toBe("unavailable");
    expect(body.message).not.toMatch(INTERNALS);
    // The message gives the operator's handle on the failure: the request id.
    const requestId = prefactor.headers["x-request-id"] as string;
    expect(body.message).toContain(requestId);

    const av = await request(app).get("/api/v1/me/api-keys/ping").set("Authorization", `Bearer ${secrets.avKey}`);
    expect(av.status).toBe(503);
    expect(av.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
    expect(Object.keys(av.body)).toEqual(["detail"]);
    expect(AvErrorSchema.strict().parse(av.body).detail).not.toMatch(INTERNALS);

    const ready = await request(app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ReadySchema.parse(ready.body).status).toBe("unavailable");
    await request(app).get("/healthz").expect(200);

    // The operator's log has the cause, under the same request id, and still no secret.
    const errors = logLines.slice(logStart).map((l) => JSON.parse(l) as { level: number; req?: { id?: string }; err?: unknown; msg?: string });
    // Once per request: the cause, at warn level, under the request's id; no error line on top.
    const lines = errors.filter((l) => l.req?.id === requestId && l.level >= 40);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: "database unavailable" });
    expect(lines[0]!.err).toBeTruthy();
    const log = logLines.slice(logStart).join("");
    for (const secret of Object.values(secrets)) for (const form of forms(secret)) expect(log.includes(form)).toBe(false);
  });
});
