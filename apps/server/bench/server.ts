// The server under test, as a child process, and its memory as the kernel reports it.
import { execFileSync, execSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const serverRoot = fileURLToPath(new URL("..", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Applies the migrations with the CLI (`db:migrate`), as a deployment's release step would, so the
 * server under test starts with nothing to migrate: applying migrations loads Prisma's schema
 * engine (WASM), which would stay in the server's memory for its whole life.
 */
export function migrateDatabase(env: Record<string, string>, opts: { dist: boolean }): void {
  const entry = opts.dist ? ["dist/db/cli-migrate.js"] : ["--import", "tsx", "--conditions=@spyglass/source", "src/db/cli-migrate.ts"];
  execFileSync(process.execPath, [...entry, "deploy"], { cwd: serverRoot, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Starts `src/index.ts` through tsx (default) or the built `dist/index.js` — or another server
 * `script` of the bench's own, through tsx — with only the variables given (plus PATH), so the
 * developer's shell cannot change what is measured. Ready when GET /readyz answers 200.
 */
export async function startServer(env: Record<string, string>, opts: { dist: boolean; script?: string }): Promise<ServerProcess> {
  const port = await freePort();
  // SERVER_NODE_ARGS: node flags NODE_OPTIONS does not allow, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = opts.script ? [] : (process.env.SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const source = ["--import", "tsx", "--conditions=@spyglass/source", opts.script ?? "src/index.ts"];
  const entry = [...nodeArgs, ...(opts.dist && !opts.script ? ["dist/index.js"] : source)];
  if (opts.dist && !opts.script && !existsSync(`${serverRoot}/dist/index.js`)) {
    throw new Error("--server dist: apps/server/dist/index.js is missing; run `pnpm build` first");
  }
  const child = spawn(process.execPath, entry, {
    cwd: serverRoot,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (chunk: Buffer) => {
    out += chunk;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server: ServerProcess = {
    child,
    pid: child.pid!,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited during start-up:\n${out}`);
    try {
      const res = await fetch(`${server.baseUrl}/readyz`);
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(`server not ready after 120 s:\n${out}`);
}

/** The process and its descendants (a server run with WEB_CONCURRENCY > 1 is several processes). */
function treeOf(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, "utf8").trim();
        if (children) out.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * kB values of VmRSS (now) and VmHWM (peak so far) from /proc/<pid>/status, summed over the
 * server's process tree (the summed peak is an upper bound); null off Linux.
 */
export function memoryOf(pid: number): { rssKb: number; hwmKb: number } | null {
  let rssKb = 0;
  let hwmKb = 0;
  let seen = false;
  for (const p of treeOf(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
      rssKb += kb("VmRSS");
      hwmKb += kb("VmHWM");
      seen = true;
    } catch {
      // gone meanwhile
    }
  }
  return seen ? { rssKb, hwmKb } : null;
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execSync("getconf CLK_TCK", { stdio: ["ignore", "pipe", "ignore"] }).toString()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) the server's process tree has used so far, from /proc/<pid>/stat; NaN off Linux. */
export function cpuMsOf(pid: number): number {
  let total = NaN;
  for (const p of treeOf(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the command name (which may contain spaces): state is [0], utime [11], stime [12].
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total = (Number.isNaN(total) ? 0 : total) + ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Samples the server's RSS every 100 ms; `peak(label)` is the highest RSS seen since `mark(label)`. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private marks = new Map<string, number>();
  private hwmKb = 0;

  constructor(private pid: number) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  /** Follow a restarted server. */
  follow(pid: number): void {
    this.sample();
    this.pid = pid;
  }

  private sample(): void {
    const m = memoryOf(this.pid);
    if (!m) return;
    this.hwmKb = Math.max(this.hwmKb, m.hwmKb || 0, m.rssKb || 0);
    for (const [label, peak] of this.marks) this.marks.set(label, Math.max(peak, m.rssKb || 0));
  }

  mark(label: string): void {
    this.sample();
    this.marks.set(label, 0);
  }

  /** Highest RSS (MB) since mark(label); stops tracking the label. */
  peak(label: string): number {
    this.sample();
    const kb = this.marks.get(label) ?? 0;
    this.marks.delete(label);
    return kb / 1024;
  }

  /** VmHWM: the server's peak RSS over its whole life (MB). */
  highWater(): number {
    this.sample();
    return this.hwmKb / 1024;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
