// One status vocabulary in the database (the Prefactor one); the AgentVista dialect maps at its edge.

export const INSTANCE_STATUSES = ["pending", "active", "complete", "failed", "cancelled", "terminated"] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export const SPAN_STATUSES = ["pending", "active", "complete", "failed", "cancelled"] as const;
export type SpanStatus = (typeof SPAN_STATUSES)[number];

export const TERMINAL_SPAN_STATUSES: readonly SpanStatus[] = ["complete", "failed", "cancelled"];

export type TraceStatus = "running" | "completed" | "failed" | "timed_out";

/** termination_reason written by the stale-run sweeper; AgentVista shows such runs as timed_out. */
export const TIMED_OUT_REASON = "timed_out";

export function traceStatusOf(status: string): TraceStatus {
  switch (status) {
    case "pending":
    case "active":
      return "running";
    case "complete":
      return "completed";
    case "terminated":
      // Killed or stale, whatever the reason given (the architecture's mapping).
      return "timed_out";
    default:
      // failed, and cancelled (never started), which AgentVista has no word for
      return "failed";
  }
}

export function instanceStatusOf(status: TraceStatus): InstanceStatus {
  return ({ running: "active", completed: "complete", failed: "failed", timed_out: "terminated" } as const)[status];
}

export function spanTraceStatusOf(status: string): TraceStatus {
  return status === "pending" || status === "active" ? "running" : status === "complete" ? "completed" : "failed";
}

export function spanStatusOf(status: TraceStatus): SpanStatus {
  return ({ running: "active", completed: "complete", failed: "failed", timed_out: "failed" } as const)[status];
}
