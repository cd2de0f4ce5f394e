import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const serverRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface RunningServer {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * A free port for a spawned server, chosen below the kernel's ephemeral range (32768–60999 on
 * Linux): a port the kernel hands out for `listen(0)` (supertest, other test files' servers) can
 * be taken again between this check and the child's own listen, and a request meant for the child
 * then reaches another test's server (a 401 for a token it never saw). Ports here are only ever
 * chosen on purpose.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 20000-31999");
}

/** Runs the real server entry point (src/index.ts through tsx) as a child process. */
export function spawnServer(env: Record<string, string>, port?: number): RunningServer {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spyglass/source", "src/index.ts"], {
    cwd: serverRoot,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...(port ? { PORT: String(port) } : {}), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (chunk) => (out += chunk));
  child.stderr?.on("data", (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, port: port ?? 0, baseUrl: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** Waits until GET /readyz answers 200. */
export async function waitReady(server: RunningServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited early:\n${server.output()}`);
    try {
      const res = await fetch(`${server.baseUrl}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready in ${timeoutMs} ms:\n${server.output()}`);
}
