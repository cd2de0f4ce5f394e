import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/database.js";
import { createServices } from "../../src/services.js";
import { avKey, bearer, freshTrace } from "../helpers/agentvista.js";
import { createScratchDatabase, type TestContext } from "../helpers/context.js";
import { registerInstance, api } from "../helpers/prefactor.js";
import { freePort } from "../helpers/process.js";

// `spyglass copy-to`: the embedded database, seeded through both dialects, copied to PostgreSQL
// and read back identical by a server started on it.

const serverRoot = fileURLToPath(new URL("../..", import.meta.url));
const base = process.env.DATABASE_URL;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spyglass/source", "src/cli.ts", ...args], {
    cwd: serverRoot,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

async function open(env: Record<string, string>) {
  const token = "copy-test-admin-token-0123456789";
  const config = loadConfig({ LOG_LEVEL: "silent", SPYGLASS_ADMIN_TOKEN: token, ...env });
  const db = await openDatabase(config);
  const services = createServices(db, config);
  const boot = await services.accounts.bootstrap(token);
  const app = createApp({ db, config, logger: pino({ level: "silent" }), services });
  const ctx = { app, db, config, services, token, accountId: boot.accountId, http: () => request(app) } as unknown as TestContext;
  return { ctx, close: async () => { await services.close?.(); await db.close(); } };
}

describe.skipIf(!base)("copy-to (needs DATABASE_URL for its PostgreSQL target)", () => {
  it("copies everything from the embedded database, verifies it, and refuses a non-empty target", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "spyglass-copy-"));
    dirs.push(dataDir);
    const source = await open({ SPYGLASS_DATA_DIR: dataDir });
    const instance = await registerInstance(source.ctx);
    const span = await api(source.ctx).post("/agent_spans", { details: { agent_instance_id: instance.id, schema_name: "llm", status: "active", payload: { model: "m" } } });
    expect(span.status).toBe(200);
    const key = await avKey(source.ctx, ["read", "write"]);
    const trace = freshTrace("copied-agent", 3);
    expect((await source.ctx.http().post("/api/v1/traces/batch").set(bearer(key)).send({ traces: [trace] })).status).toBe(200);
    const reads = async (ctx: TestContext) => [
      (await api(ctx).get(`/agent_instance/${instance.id}`)).body,
      (await api(ctx).get(`/agent_spans?agent_instance_id=${instance.id}`)).body,
      (await ctx.http().get(`/api/v1/dashboard/traces/${trace.trace.trace_id}`).set(bearer(key))).body,
      (await ctx.http().get("/api/v1/me/api-keys").set(bearer(ctx.token))).body,
      (await api(ctx).get("/agent")).body,
    ];
    const before = await reads(source.ctx);
    // Real answers, not five identical 404s.
    for (const body of before) expect(JSON.stringify(body)).not.toMatch(/not_found|"detail"/);
    expect(JSON.stringify(before)).toContain(trace.spans[2]!.span_id);
    expect(JSON.stringify(before)).toContain(span.body.details.id);
    await source.close();

    const target = await createScratchDatabase(base!, "spyglass_copy");
    try {
      const env = { SPYGLASS_DATA_DIR: dataDir };
      const copied = await cli(["copy-to", target.url], env);
      expect(copied.out).toMatch(/^spans: 4 rows$/m);
      expect(copied.code, copied.out).toBe(0);

      const again = await cli(["copy-to", target.url], env);
      expect(again.code).toBe(2);
      expect(again.out.trim()).toBe("spyglass: copy-to: the target holds data already: pass --force to replace it");
      expect((await cli(["copy-to", target.url, "--force"], env)).code).toBe(0);

      const down = await cli(["copy-to", `postgresql://postgres@127.0.0.1:${await freePort()}/x`], env);
      expect(down.code).toBe(2);
      expect(down.out.trim().split("\n")).toHaveLength(1);
      expect(down.out).toMatch(/^spyglass: copy-to: cannot use PostgreSQL at .*not reachable/);

      // A server started on the copy (tokens still hashed: the same secrets work) reads back the same.
      const copy = await open({ SPYGLASS_DATA_DIR: "memory://", DATABASE_URL: target.url });
      try {
        expect(await reads(copy.ctx)).toEqual(before);
      } finally {
        await copy.close();
      }
    } finally {
      await target.drop();
    }
  }, 180_000);
});
