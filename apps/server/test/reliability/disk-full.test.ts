/**
 * The embedded database on a nearly full disk: writes are refused with 503 and readiness goes
 * false before PGlite wedges (it spins for good when it cannot create its next WAL segment), the
 * log says "disk full", and everything works again once space is back, without a restart. A
 * restart on a full disk says "disk full" too. Runs on a small tmpfs the test mounts; skipped,
 * saying so, where mounting is not allowed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AvErrorSchema, ErrorEnvelopeSchema } from "@spyglass/contracts";
import { freshTrace } from "../helpers/agentvista.js";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

const MIN_FREE_MB = 64;
const TOKEN = "disk-full-admin-token-0123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mountPoint = mkdtempSync(path.join(tmpdir(), "spyglass-disk-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=320m", "tmpfs", mountPoint], { stdio: "ignore" });
  mounted = true;
} catch {
  console.warn("disk-full.test.ts SKIPPED: cannot mount a small tmpfs here (needs root and mount permission)");
}
const filler = path.join(mountPoint, "filler");
const dataDir = path.join(mountPoint, "data");
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.exited));
  if (mounted) execFileSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Leaves `mb` MB free on the tmpfs. */
function fillLeaving(mb: number): void {
  const stats = statfsSync(mountPoint);
  const free = stats.bavail * stats.bsize;
  execFileSync("fallocate", ["-l", String(free - mb * 2 ** 20), filler]);
}

async function start(): Promise<RunningServer> {
  const server = spawnServer({ SPYGLASS_DATA_DIR: dataDir, SPYGLASS_ADMIN_TOKEN: TOKEN, DISK_FREE_MIN_MB: String(MIN_FREE_MB), LOG_LEVEL: "info" }, await freePort());
  servers.push(server);
  return server;
}

// Generous bounds: the machine running the suite may be very busy; the figures are printed.
async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

const auth = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
const ready = async (s: RunningServer) => (await fetch(`${s.baseUrl}/readyz`).catch(() => undefined))?.status;
const batch = (s: RunningServer, trace = freshTrace("disk-bot", 3)) =>
  fetch(`${s.baseUrl}/api/v1/traces/batch`, { method: "POST", headers: auth, body: JSON.stringify({ traces: [trace] }) });

describe.skipIf(!mounted)("the embedded database on a nearly full disk", () => {
  it(`refuses writes with 503 and readiness false below ${MIN_FREE_MB} MB free, says "disk full", and recovers without a restart`, async () => {
    const server = await start();
    await waitReady(server, 110_000);
    const before = freshTrace("disk-bot", 3);
    expect((await batch(server, before)).status).toBe(200);

    fillLeaving(MIN_FREE_MB / 2);
    const noticed = await until("readiness false", async () => (await ready(server)) === 503);
    const refused = await batch(server);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(AvErrorSchema.strict().parse(await refused.json()).detail).toMatch(/unavailable/);
    const prefactor = await fetch(`${server.baseUrl}/api/v1/pfid/generate`, { method: "POST", headers: auth, body: "{}" });
    expect(prefactor.status).toBe(503);
    expect(ErrorEnvelopeSchema.strict().parse(await prefactor.json()).code).toBe("unavailable");
    const otlp = await fetch(`${server.baseUrl}/v1/traces`, { method: "POST", headers: auth, body: "{}" });
    expect(otlp.status).toBe(503);
    expect(otlp.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(((await otlp.json()) as { code?: number }).code).toBe(14);
    // Reads go on.
    expect((await fetch(`${server.baseUrl}/api/v1/dashboard/traces/${before.trace.trace_id}`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    expect(server.output()).toMatch(/disk full/);

    rmSync(filler);
    const recovered = await until("readiness back", async () => (await ready(server)) === 200);
    expect((await batch(server)).status).toBe(200);
    expect(server.output()).toMatch(/disk space available again/);

    // A restart on a full disk says so, and the data is all there once space is back.
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    fillLeaving(MIN_FREE_MB / 2);
    const again = await start();
    // It starts (reads are served) but is not ready, and says why.
    await until("\"disk full\" at start", () => /disk full/.test(again.output()), 110_000);
    await until("listening while full", async () => (await ready(again)) === 503, 110_000);
    expect((await fetch(`${again.baseUrl}/api/v1/dashboard/traces/${before.trace.trace_id}`, { headers: auth })).status).toBe(200);
    expect((await batch(again)).status).toBe(503);
    rmSync(filler);
    await waitReady(again, 60_000);
    expect((await fetch(`${again.baseUrl}/api/v1/dashboard/traces/${before.trace.trace_id}`, { headers: auth })).status).toBe(200);
    expect((await batch(again)).status).toBe(200);
    console.log(`disk full (PGlite, tmpfs of 320 MB, DISK_FREE_MIN_MB=${MIN_FREE_MB}): refused within ${noticed} ms of filling, accepted again within ${recovered} ms of freeing`);
  }, 300_000);
});
