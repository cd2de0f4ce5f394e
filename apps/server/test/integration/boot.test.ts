import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createScratchDatabase } from "../helpers/context.js";
import { freePort, spawnServer, waitReady } from "../helpers/process.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "spyglass-boot-"));
  dirs.push(dir);
  return dir;
}

describe("booting the real server", () => {
  it("exits non-zero with one line naming a bad variable", async () => {
    const bad = spawnServer({ PORT: "abc" });
    expect(await bad.exited).toBe(1);
    expect(bad.output().trim()).toBe('invalid configuration: PORT: expected an integer between 0 and 65535 (got "abc")');

    const url = spawnServer({ DATABASE_URL: "not a url" });
    expect(await url.exited).toBe(1);
    expect(url.output().trim().split("\n")).toHaveLength(1);
    expect(url.output()).toMatch(/^invalid configuration: DATABASE_URL: /);
  });

  it("explains an unreachable PostgreSQL in one line, without a stack", async () => {
    const port = await freePort();
    const down = spawnServer({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/spyglass` });
    expect(await down.exited).toBe(1);
    expect(down.output().trim()).toBe(`spyglass: cannot use PostgreSQL at 127.0.0.1:${port}/spyglass: DatabaseNotReachable: server not reachable`);
  });

  it("runs several server processes on PostgreSQL with WEB_CONCURRENCY, and refuses that on the embedded database", async () => {
    const alone = spawnServer({ WEB_CONCURRENCY: "2" });
    expect(await alone.exited).toBe(1);
    expect(alone.output().trim()).toMatch(/^invalid configuration: WEB_CONCURRENCY: more than one server process needs DATABASE_URL/);
    const base = process.env.DATABASE_URL;
    if (!base) return;
    const scratch = await createScratchDatabase(base, "spyglass_cluster");
    try {
      const token = "cluster-test-admin-token-0123456789";
      const server = spawnServer({ DATABASE_URL: scratch.url, WEB_CONCURRENCY: "2", SPYGLASS_ADMIN_TOKEN: token, LOG_LEVEL: "info" }, await freePort());
      await waitReady(server, 110_000);
      // Ready means one process listens; the other may still be starting, so wait for both to say so.
      const listening = () => {
        const pids = new Set<number>();
        for (const line of server.output().split("\n")) {
          const pid = /"pid":(\d+).*spyglass listening/.exec(line)?.[1];
          if (pid) pids.add(Number(pid));
        }
        return pids;
      };
      for (let waited = 0; listening().size < 2 && waited < 60_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
      expect(listening().size).toBe(2);
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${server.baseUrl}/api/v1/ping`, { headers: { Authorization: `Bearer ${token}`, Connection: "close" } });
        expect(res.status).toBe(200);
      }
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    } finally {
      await scratch.drop();
    }
  }, 180_000);

  it("keeps data in SPYGLASS_DATA_DIR across a kill -9 and a restart", async () => {
    const dataDir = tempDir();
    const token = "boot-test-admin-token-0123456789";
    const env = { SPYGLASS_DATA_DIR: dataDir, SPYGLASS_ADMIN_TOKEN: token };
    const ping = async (baseUrl: string) => {
      const res = await fetch(`${baseUrl}/api/v1/ping`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { details: { account_id: string } }).details.account_id;
    };

    const first = spawnServer(env, await freePort());
    await waitReady(first);
    const accountId = await ping(first.baseUrl);
    first.child.kill("SIGKILL");
    await first.exited;

    const second = spawnServer(env, await freePort());
    await waitReady(second);
    expect(await ping(second.baseUrl)).toBe(accountId);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("prints a generated admin token once when none is configured", async () => {
    const dataDir = tempDir();
    const first = spawnServer({ SPYGLASS_DATA_DIR: dataDir }, await freePort());
    await waitReady(first);
    const token = /\n {2}(sg_[0-9a-f]{64})\n/.exec(first.output())?.[1];
    expect(token).toBeDefined();
    const res = await fetch(`${first.baseUrl}/api/v1/ping`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    first.child.kill("SIGTERM");
    await first.exited;

    const second = spawnServer({ SPYGLASS_DATA_DIR: dataDir }, await freePort());
    await waitReady(second);
    expect(second.output()).not.toMatch(/sg_[0-9a-f]{64}/);
    second.child.kill("SIGTERM");
    await second.exited;
  });

  it("creates tenants and tokens with the operator CLI", async () => {
    const dataDir = tempDir();
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "--conditions=@spyglass/source", "src/cli.ts", ...args], {
        cwd: path.resolve(__dirname, "../.."),
        env: { PATH: process.env.PATH ?? "", SPYGLASS_DATA_DIR: dataDir, SPYGLASS_ADMIN_TOKEN: "cli-test-admin-token-0123456789" },
        encoding: "utf8",
      });
    const created = cli("accounts", "create", "acme");
    expect(created.status).toBe(0);
    const accountId = /account_id=(\S+)/.exec(created.stdout)?.[1];
    expect(accountId).toBeDefined();
    const issued = cli("tokens", "create", "--account", accountId!, "--scopes", "read");
    expect(issued.status).toBe(0);
    const token = /token=(sg_\S+)/.exec(issued.stdout)?.[1];
    expect(cli("tokens", "create", "--account", accountId!, "--scopes", "root").status).toBe(2);

    const server = spawnServer({ SPYGLASS_DATA_DIR: dataDir }, await freePort());
    await waitReady(server);
    const res = await fetch(`${server.baseUrl}/api/v1/ping`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { details: { account_id: string; scopes: string[] } };
    expect(body.details).toMatchObject({ account_id: accountId, scopes: ["read"] });
    server.child.kill("SIGTERM");
    await server.exited;
  }, 180_000);
});
