// The load driver: a child process of the orchestrator that talks to the server over real HTTP
// (node:http with a keep-alive agent: one connection per concurrent worker, reused). Request
// bodies are built before the timed window wherever they do not depend on ids the server returns.
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { GenSpan, GenTrace } from "./generate.js";
import { iso } from "./generate.js";
import type { DriverMessage, Job, JobResult, OrchestratorMessage, Target } from "./protocol.js";
import { Rng } from "./rng.js";
import { avBatches, otlpExports, planSpanCount, planTraces, registerBody, spanCreateDetails, spanFinishBody } from "./workloads.js";

interface Reply {
  status: number;
  text: string;
  ms: number;
}

class Recorder {
  requests = 0;
  errors = 0;
  errorSamples: string[] = [];
  latencies: Record<string, number[]> = {};

  record(kind: string, reply: Reply): void {
    this.requests++;
    (this.latencies[kind] ??= []).push(reply.ms);
  }

  error(what: string): void {
    this.errors++;
    if (this.errorSamples.length < 5 && !this.errorSamples.includes(what)) this.errorSamples.push(what);
  }
}

// Node's built-in fetch costs ~0.65 ms of CPU per request here (WHATWG streams and headers): at a
// few thousand requests/s the client alone would need more than this machine's two cores, so the
// driver measured itself instead of the server. node:http costs ~0.1 ms.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function send(t: Target, method: string, path: string, body?: string | Buffer): Promise<Reply> {
  const started = performance.now();
  const url = new URL(t.baseUrl + path);
  const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${t.token}` };
  if (body !== undefined) {
    headers["content-type"] = typeof body === "string" ? "application/json" : "application/x-protobuf";
    headers["content-length"] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const brief = (reply: Reply, what: string) => `${what}: HTTP ${reply.status} ${reply.text.slice(0, 240)}`;

/** Runs each worker's items in order, the workers concurrently; returns the elapsed ms. */
async function workers<T>(lists: T[][], fn: (item: T, worker: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  await Promise.all(lists.map(async (items, w) => {
    for (const item of items) await fn(item, w);
  }));
  return performance.now() - started;
}

let currentJob = 0;
let windowCpu: NodeJS.CpuUsage | null = null;
let driverCpuMs = 0;

/** Like workers(), for the measured part: tells the orchestrator when the window opens and closes. */
async function timed<T>(lists: T[][], fn: (item: T, worker: number) => Promise<void>): Promise<number> {
  process.send!({ type: "window", id: currentJob, edge: "start" } satisfies DriverMessage);
  windowCpu = process.cpuUsage();
  const elapsed = await workers(lists, fn);
  const used = process.cpuUsage(windowCpu);
  driverCpuMs = (used.user + used.system) / 1000;
  process.send!({ type: "window", id: currentJob, edge: "end" } satisfies DriverMessage);
  return elapsed;
}

function result(rec: Recorder, spans: number, elapsedMs: number): JobResult {
  return { requests: rec.requests, spans, elapsedMs, latencies: rec.latencies, errors: rec.errors, errorSamples: rec.errorSamples, driverCpuMs };
}

// ---- AgentVista batch ingest ------------------------------------------------------------------

async function agentvista(job: Extract<Job, { kind: "av" }>): Promise<JobResult> {
  const send1 = async (rec: Recorder | null, batch: { body: string }) => {
    const reply = await send(job, "POST", "/api/v1/traces/batch", batch.body);
    rec?.record("batch", reply);
    if (reply.status !== 200) return rec?.error(brief(reply, "batch"));
    const body = JSON.parse(reply.text) as { rejected?: number; errors?: { message?: string }[] };
    if (body.rejected) rec?.error(`batch: ${body.rejected} trace(s) rejected: ${body.errors?.[0]?.message ?? "?"}`);
  };
  const c = job.concurrency;
  if (job.warmupSpans > 0) {
    const warm = planTraces({ seed: job.seed, anchor: job.anchor, label: `av-warm-c${c}`, workers: c, spans: job.warmupSpans });
    await workers(warm.map(avBatches), (b) => send1(null, b));
  }
  const plan = planTraces({ seed: job.seed, anchor: job.anchor, label: `av-c${c}`, workers: c, spans: job.spans });
  const batches = plan.map(avBatches);
  const rec = new Recorder();
  const elapsed = await timed(batches, (b) => send1(rec, b));
  return result(rec, planSpanCount(plan), elapsed);
}

// ---- OTLP/HTTP protobuf exports ---------------------------------------------------------------

async function otlp(job: Extract<Job, { kind: "otlp" }>): Promise<JobResult> {
  const send1 = async (rec: Recorder | null, batch: { body: Buffer }) => {
    const reply = await send(job, "POST", "/v1/traces", batch.body);
    rec?.record("export", reply);
    if (reply.status !== 200) return rec?.error(brief(reply, "export"));
    // An ExportTraceServiceResponse with nothing in it: every span taken.
    if (reply.text.length > 0) rec?.error(`export: partial success ${JSON.stringify(reply.text.slice(0, 200))}`);
  };
  const c = job.concurrency;
  // Encoded before the warm-up: encoding takes seconds, and sockets idle past the server's
  // keep-alive timeout meanwhile would be closed under the first timed requests.
  const plan = planTraces({ seed: job.seed, anchor: job.anchor, label: `otlp-c${c}`, workers: c, spans: job.spans });
  const exports = plan.map(otlpExports);
  if (job.warmupSpans > 0) {
    const warm = planTraces({ seed: job.seed, anchor: job.anchor, label: `otlp-warm-c${c}`, workers: c, spans: job.warmupSpans });
    await workers(warm.map(otlpExports), (b) => send1(null, b));
  }
  const rec = new Recorder();
  const elapsed = await timed(exports, (b) => send1(rec, b));
  return result(rec, planSpanCount(plan), elapsed);
}

// ---- Prefactor: register + start instances (untimed set-up) ----------------------------------

async function registerAndStart(job: Target, plan: GenTrace[][], rec: Recorder): Promise<Map<string, string>> {
  const instanceIds = new Map<string, string>();
  await workers(plan, async (t) => {
    const reg = await send(job, "POST", "/api/v1/agent_instance/register", registerBody(t.agent));
    rec.record("register", reg);
    if (reg.status !== 200 && reg.status !== 201) return rec.error(brief(reg, "register"));
    const id = (JSON.parse(reg.text) as { details: { id: string } }).details.id;
    const start = await send(job, "POST", `/api/v1/agent_instance/${id}/start`, JSON.stringify({ timestamp: iso(t.startedAt) }));
    rec.record("start", start);
    if (start.status !== 200) return rec.error(brief(start, "start"));
    instanceIds.set(t.id, id);
  });
  return instanceIds;
}

async function finishInstances(job: Target, plan: GenTrace[][], ids: Map<string, string>, rec: Recorder): Promise<void> {
  await workers(plan, async (t) => {
    const id = ids.get(t.id);
    if (!id) return;
    const body = JSON.stringify({ status: t.status === "completed" ? "complete" : "failed", timestamp: iso(t.endedAt ?? t.startedAt) });
    const reply = await send(job, "POST", `/api/v1/agent_instance/${id}/finish`, body);
    rec.record("instance finish", reply);
    if (reply.status !== 200) rec.error(brief(reply, "instance finish"));
  });
}

// ---- Prefactor: span create (active) + finish, one request each --------------------------------

async function prefactorSpans(job: Extract<Job, { kind: "pf-spans" }>): Promise<JobResult> {
  const c = job.concurrency;
  let runSetup: JobResult["runSetup"];
  const run = async (plan: GenTrace[][], rec: Recorder, measure: boolean): Promise<number> => {
    const setup = new Recorder();
    let setupStarted = performance.now();
    const ids = await registerAndStart(job, plan, setup);
    const registerMs = performance.now() - setupStarted;
    // A span is created when it starts and finished when its last child has finished (depth-first),
    // as an instrumented agent reports them.
    const visit = async (instanceId: string, s: GenSpan, parentId: string | null): Promise<void> => {
      const created = await send(job, "POST", "/api/v1/agent_spans", JSON.stringify({ details: spanCreateDetails(instanceId, s, parentId, false) }));
      rec.record("create", created);
      if (created.status !== 200 && created.status !== 201) return rec.error(brief(created, "create"));
      const id = (JSON.parse(created.text) as { details: { id: string } }).details.id;
      for (const child of s.children) await visit(instanceId, child, id);
      const finished = await send(job, "POST", `/api/v1/agent_spans/${id}/finish`, spanFinishBody(s));
      rec.record("finish", finished);
      if (finished.status !== 200) rec.error(brief(finished, "finish"));
    };
    const elapsed = await (measure ? timed : workers)(plan, async (t) => {
      const instanceId = ids.get(t.id);
      if (instanceId) await visit(instanceId, t.spans[0]!, null);
    });
    setupStarted = performance.now();
    await finishInstances(job, plan, ids, setup);
    if (measure) runSetup = { runs: ids.size, registerStartMs: registerMs, finishMs: performance.now() - setupStarted, latencies: setup.latencies };
    rec.errors += setup.errors;
    for (const e of setup.errorSamples) if (rec.errorSamples.length < 5) rec.errorSamples.push(e);
    return elapsed;
  };
  if (job.warmupSpans > 0) {
    await run(planTraces({ seed: job.seed, anchor: job.anchor, label: `pf-warm-c${c}`, workers: c, spans: job.warmupSpans }), new Recorder(), false);
  }
  const plan = planTraces({ seed: job.seed, anchor: job.anchor, label: `pf-c${c}`, workers: c, spans: job.spans });
  const rec = new Recorder();
  const elapsed = await run(plan, rec, true);
  return { ...result(rec, planSpanCount(plan), elapsed), runSetup };
}

// ---- Prefactor bulk: agent_spans/create items with a terminal status -------------------------

async function prefactorBulk(job: Extract<Job, { kind: "pf-bulk" }>): Promise<JobResult> {
  const c = job.concurrency;
  const run = async (label: string, spans: number, rec: Recorder, measure: boolean): Promise<{ elapsed: number; spans: number }> => {
    const plan = planTraces({ seed: job.seed, anchor: job.anchor, label, workers: c, spans, pfidPartition: job.pfidPartition });
    const setup = new Recorder();
    const ids = await registerAndStart(job, plan, setup);
    // Each worker's spans, in order (parents first), cut into requests of 50–100 items.
    const bodies = plan.map((traces, w) => {
      const rng = new Rng(`${job.seed}/${label}/sizes/w${w}`);
      const items: Record<string, unknown>[] = [];
      for (const t of traces) {
        const instanceId = ids.get(t.id);
        if (!instanceId) continue;
        for (const s of t.spans) {
          const details = spanCreateDetails(instanceId, s, s.parentId, true, s.id);
          const key = `bk-${s.id}`;
          items.push(job.itemShape === "details" ? { _type: "agent_spans/create", idempotency_key: key, details } : { _type: "agent_spans/create", idempotency_key: key, ...details });
        }
      }
      const out: { body: string; items: number }[] = [];
      for (let i = 0; i < items.length; ) {
        const n = rng.int(50, 100);
        out.push({ body: JSON.stringify({ items: items.slice(i, i + n) }), items: Math.min(n, items.length - i) });
        i += n;
      }
      return out;
    });
    const elapsed = await (measure ? timed : workers)(bodies, async (b) => {
      const reply = await send(job, "POST", "/api/v1/bulk", b.body);
      rec.record("bulk", reply);
      if (reply.status !== 200) return rec.error(brief(reply, "bulk"));
      const outputs = Object.values((JSON.parse(reply.text) as { outputs?: Record<string, { status?: string; message?: string }> }).outputs ?? {});
      const failed = outputs.find((o) => o.status !== "success");
      if (failed || outputs.length !== b.items) rec.error(`bulk: ${outputs.length}/${b.items} outputs, first error: ${failed?.message ?? "missing outputs"}`);
    });
    await finishInstances(job, plan, ids, setup);
    rec.errors += setup.errors;
    for (const e of setup.errorSamples) if (rec.errorSamples.length < 5) rec.errorSamples.push(e);
    return { elapsed, spans: planSpanCount(plan) };
  };
  if (job.warmupSpans > 0) await run(`bulk-warm-c${c}`, job.warmupSpans, new Recorder(), false);
  const rec = new Recorder();
  const { elapsed, spans } = await run(`bulk-c${c}`, job.spans, rec, true);
  return result(rec, spans, elapsed);
}

// ---- Queries: one at a time, so latency is the server's, not a queue's -----------------------

async function queries(job: Extract<Job, { kind: "query" }>): Promise<JobResult> {
  for (let i = 0; i < job.warmup; i++) await send(job, "GET", job.paths[i % job.paths.length]!);
  const rec = new Recorder();
  const elapsed = await timed([job.paths], async (path) => {
    const reply = await send(job, "GET", path);
    rec.record("query", reply);
    if (reply.status !== 200) rec.error(brief(reply, `GET ${path}`));
  });
  return result(rec, 0, elapsed);
}

async function runJob(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case "av":
      return agentvista(job);
    case "otlp":
      return otlp(job);
    case "pf-spans":
      return prefactorSpans(job);
    case "pf-bulk":
      return prefactorBulk(job);
    case "query":
      return queries(job);
  }
}

process.on("message", (message: OrchestratorMessage) => {
  if (message.type === "exit") process.exit(0);
  currentJob = message.id;
  driverCpuMs = 0;
  runJob(message.job).then(
    (result) => process.send!({ type: "result", id: message.id, result } satisfies DriverMessage),
    (error: unknown) => process.send!({ type: "failed", id: message.id, message: String((error as Error)?.stack ?? error) } satisfies DriverMessage),
  );
});
process.on("disconnect", () => process.exit(0));
