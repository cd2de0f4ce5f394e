// Messages between the orchestrator (run.ts) and the load driver (driver.ts), a separate process so
// that generating and sending load never competes with the orchestrator's own measurements.

export interface Target {
  baseUrl: string;
  token: string;
}

interface IngestJobBase extends Target {
  seed: string;
  anchor: number;
  concurrency: number;
  /** Spans in the timed part. */
  spans: number;
  /** Spans sent first, untimed (JIT, connection pools, caches). */
  warmupSpans: number;
}

export type Job =
  | ({ kind: "av" } & IngestJobBase)
  | ({ kind: "otlp" } & IngestJobBase)
  | ({ kind: "pf-spans" } & IngestJobBase)
  | ({ kind: "pf-bulk"; pfidPartition: number; itemShape: BulkItemShape } & IngestJobBase)
  | ({ kind: "query"; paths: string[]; warmup: number } & Target);

/** Bulk items carry the create body as `details` (as the endpoint's own body) or flat. */
export type BulkItemShape = "details" | "flat";

export interface JobResult {
  requests: number;
  spans: number;
  elapsedMs: number;
  /** Per request kind (e.g. "batch", "create", "finish", "query"): milliseconds. */
  latencies: Record<string, number[]>;
  errors: number;
  errorSamples: string[];
  /** The driver's own CPU time over the timed window (ms), to see when the client is a limit. */
  driverCpuMs: number;
  /**
   * Prefactor create+finish: the untimed run set-up around the timed window (register + start of
   * every run before it, instance finish after it), at the same concurrency, with its latencies.
   */
  runSetup?: { runs: number; registerStartMs: number; finishMs: number; latencies: Record<string, number[]> };
}

export type DriverMessage =
  | { type: "result"; id: number; result: JobResult }
  | { type: "failed"; id: number; message: string }
  /** The timed window opens / closes (the orchestrator samples the server's CPU time then). */
  | { type: "window"; id: number; edge: "start" | "end" };
export type OrchestratorMessage = { type: "job"; id: number; job: Job } | { type: "exit" };
