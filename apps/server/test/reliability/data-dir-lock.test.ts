/**
 * One process per embedded data directory (issue 19 item 13, issue 21 item 1). Two servers on one
 * SPYGLASS_DATA_DIR used to both start and lose acknowledged data; the operator CLI on a live
 * directory printed an account and token that were then lost. Now the second process is refused
 * with one line and a non-zero exit, the first is unharmed, and a holder killed with SIGKILL leaves
 * nothing that stops the next start. Embedded mode only: the same on every run of the suite.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

const serverRoot = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = mkdtempSync(path.join(tmpdir(), "spyglass-lock-"));
const token = `sg_lock_${"7".repeat(40)}`;
const env = { SPYGLASS_DATA_DIR: dataDir, SPYGLASS_ADMIN_TOKEN: token };
const running: RunningServer[] = [];
/** A first boot migrates a new directory: slow when the machine is busy. */
const BOOT_TIMEOUT_MS = 180_000;

afterAll(async () => {
  for (const server of running) if (server.child.exitCode === null) server.child.kill("SIGKILL");
  await Promise.all(running.map((s) => s.exited));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<RunningServer> {
  const server = spawnServer(env, await freePort());
  running.push(server);
  return server;
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spyglass/source", "src/cli.ts", ...args], {
      cwd: serverRoot,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function ingestTrace(server: RunningServer, traceId: string): Promise<void> {
  const now = new Date().toISOString();
  const res = await fetch(`${server.baseUrl}/api/v1/traces/batch`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ traces: [{ trace: { trace_id: traceId, agent: "locked", started_at: now }, spans: [] }] }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
}

async function traceExists(server: RunningServer, traceId: string): Promise<boolean> {
  const res = await fetch(`${server.baseUrl}/api/v1/dashboard/traces/${traceId}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.status === 200;
}

describe("the embedded data directory", () => {
  it("refuses a second server, and the first keeps serving", async () => {
    const first = await start();
    await waitReady(first, BOOT_TIMEOUT_MS);
    await ingestTrace(first, "11111111-1111-4111-8111-111111111111");

    const second = await start();
    const code = await second.exited;
    expect(code).not.toBe(0);
    const lines = second.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^spyglass: the data directory ${dataDir} is in use by another Spyglass process \\(pid ${first.child.pid}\\)`));

    expect((await fetch(`${first.baseUrl}/readyz`)).status).toBe(200);
    await ingestTrace(first, "22222222-2222-4222-8222-222222222222");
    expect(await traceExists(first, "11111111-1111-4111-8111-111111111111")).toBe(true);
  }, 300_000);

  it("refuses the operator CLI while the server runs: no account or token printed", async () => {
    const result = await cli(["accounts", "create", "while-running"]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stdout + result.stderr).not.toMatch(/admin_token|token=/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/is in use by another Spyglass process/);
  }, 120_000);

  it("opens at once after the holder is killed with SIGKILL, with its data", async () => {
    const holder = running[0]!;
    holder.child.kill("SIGKILL");
    await holder.exited;
    const next = await start();
    await waitReady(next, BOOT_TIMEOUT_MS);
    expect(await traceExists(next, "22222222-2222-4222-8222-222222222222")).toBe(true);

    // And the CLI works once nothing holds the directory.
    next.child.kill("SIGTERM");
    expect(await next.exited).toBe(0);
    const result = await cli(["accounts", "create", "after-stop"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^account_id=.+\nadmin_token=sg_/);
  }, 400_000);
});
