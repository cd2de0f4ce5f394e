import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnServer, waitReady, type RunningServer } from "../helpers/process.js";

const REQUEST_TIMEOUT_MS = 1500;
const TOKEN = "timeouts-test-admin-token-0123456789";
// Node cuts a stalled request when it next sweeps connections (index.ts sweeps every second at
// most), and the machine running the tests is shared: allow that much on top of the timeout.
const CUT_OFF_BY_MS = REQUEST_TIMEOUT_MS + 1000 + 1500;

let server: RunningServer;
beforeAll(async () => {
  server = spawnServer({ SPYGLASS_DATA_DIR: "memory://", SPYGLASS_ADMIN_TOKEN: TOKEN, REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }, await freePort());
  await waitReady(server);
});
afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill("SIGTERM");
    await server.exited;
  }
});

interface Stalled {
  socket: Socket;
  /** Resolves when the server closes the connection: what it sent and after how long. */
  closed: Promise<{ received: string; afterMs: number }>;
}

/** Opens a connection, sends `head`, then sends nothing more (or drips `drip` every 400 ms). */
function stall(head: string, drip?: string): Stalled {
  const socket = connect(server.port, "127.0.0.1");
  const started = Date.now();
  let received = "";
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (chunk) => (received += chunk));
  socket.on("connect", () => {
    socket.write(head);
    if (drip) timer = setInterval(() => socket.writable && socket.write(drip), 400);
  });
  const closed = new Promise<{ received: string; afterMs: number }>((resolve) => {
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ received, afterMs: Date.now() - started });
    });
  });
  socket.on("error", () => {});
  return { socket, closed };
}

async function pingOk(): Promise<number> {
  const started = Date.now();
  const res = await fetch(`${server.baseUrl}/api/v1/ping`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  await res.json();
  return Date.now() - started;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} still open after ${ms} ms`)), ms))]);
}

describe("REQUEST_TIMEOUT_MS against slow clients (real server, REQUEST_TIMEOUT_MS=1500)", () => {
  it("cuts off a client that sends headers and part of the body, then stalls, and keeps serving others", async () => {
    const slow = stall(
      "POST /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        `Authorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"details": {"name": "par`,
    );
    // While it stalls, others are served without waiting for its timeout.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) expect(await pingOk()).toBeLessThan(REQUEST_TIMEOUT_MS);

    const { received, afterMs } = await withDeadline(slow.closed, CUT_OFF_BY_MS + 5000, "slow body");
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(afterMs).toBeLessThan(CUT_OFF_BY_MS);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    console.log(`timeouts: a stalled body was cut off after ${afterMs} ms (REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS})`);
    await pingOk();
  });

  it("cuts off a client that drips its headers (slowloris)", async () => {
    const slow = stall("GET /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Drip: 1\r\n");
    const { received, afterMs } = await withDeadline(slow.closed, CUT_OFF_BY_MS + 5000, "dripping headers");
    expect(afterMs).toBeLessThan(CUT_OFF_BY_MS);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    console.log(`timeouts: dripping headers were cut off after ${afterMs} ms`);
    await pingOk();
  });

  it("survives 100 stalled connections at once and still answers quickly", async () => {
    const slow = Array.from({ length: 100 }, (_, i) =>
      stall(`POST /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"n": ${i}`),
    );
    await new Promise((r) => setTimeout(r, 300));
    const pingMs = await pingOk();
    const results = await withDeadline(Promise.all(slow.map((s) => s.closed)), CUT_OFF_BY_MS + 5000, "stalled connections");
    // Answered while they were all still stalled, i.e. without waiting for any of them.
    expect(pingMs + 300).toBeLessThan(Math.min(...results.map((r) => r.afterMs)));
    // A hundred sockets on a shared machine: a second more than for one.
    for (const { afterMs } of results) expect(afterMs).toBeLessThan(CUT_OFF_BY_MS + 1000);
    const times = results.map((r) => r.afterMs);
    console.log(`timeouts: 100 stalled connections were all cut off within ${Math.min(...times)}-${Math.max(...times)} ms; a ping meanwhile took ${pingMs} ms`);
    await pingOk();
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
