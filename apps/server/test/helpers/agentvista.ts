import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { AvErrorSchema } from "@spyglass/contracts";
import type { TestContext } from "./context.js";

/** The batch of AgentVista's docs (seed 003), verbatim. */
export const SEED_BATCH = {
  traces: [
    {
      trace: {
        trace_id: "550e8400-e29b-41d4-a716-446655440000",
        agent: "lead-qualifier",
        status: "completed",
        started_at: "2024-01-15T10:00:00Z",
        ended_at: "2024-01-15T10:00:02Z",
        duration_ms: 2000,
        success: true,
        outcome: "qualified",
        total_tokens: 1500,
        total_cost_usd: "0.004500",
      },
      spans: [
        {
          span_id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
          trace_id: "550e8400-e29b-41d4-a716-446655440000",
          type: "llm",
          name: "gpt-4o classify",
          status: "completed",
          started_at: "2024-01-15T10:00:00.100Z",
          ended_at: "2024-01-15T10:00:01.800Z",
          duration_ms: 1700,
          model: "gpt-4o",
          input_tokens: 800,
          output_tokens: 120,
          total_tokens: 920,
          cost_usd: "0.003200",
        },
      ],
    },
  ],
};

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** An av_ key of the context's account with these scopes, minted through the service. */
export async function avKey(ctx: TestContext, scopes: string[], accountId = ctx.accountId): Promise<string> {
  const { secret } = await ctx.services.accounts.issueToken({ secretPrefix: "av_", accountId, name: `test ${scopes.join(",")}`, scopes });
  return secret;
}

export interface TraceSpec {
  agent?: string;
  status?: "running" | "completed" | "failed" | "timed_out";
  startedAt?: Date;
  durationMs?: number | null;
  success?: boolean | null;
  outcome?: string | null;
  spans?: number;
  traceId?: string;
  extra?: Record<string, unknown>;
}

/** A trace entry with `spans` llm spans of 100 input + 20 output tokens and 0.001 USD each. */
export function traceItem(spec: TraceSpec = {}) {
  const traceId = spec.traceId ?? randomUUID();
  const startedAt = spec.startedAt ?? new Date();
  const status = spec.status ?? "completed";
  const duration = spec.durationMs === undefined ? 1000 : spec.durationMs;
  const trace: Record<string, unknown> = {
    trace_id: traceId,
    agent: spec.agent ?? "agent-a",
    status,
    started_at: startedAt.toISOString(),
    ...(status !== "running" && duration !== null ? { ended_at: new Date(startedAt.getTime() + duration).toISOString() } : {}),
    ...(spec.success !== undefined && spec.success !== null ? { success: spec.success } : {}),
    ...(spec.outcome ? { outcome: spec.outcome } : {}),
    ...spec.extra,
  };
  const spans = Array.from({ length: spec.spans ?? 1 }, (_, i) => ({
    span_id: randomUUID(),
    trace_id: traceId,
    type: "llm",
    name: `call ${i}`,
    status: status === "running" ? "running" : "completed",
    started_at: new Date(startedAt.getTime() + i).toISOString(),
    input_tokens: 100,
    output_tokens: 20,
    cost_usd: "0.001000",
  }));
  return { trace, spans };
}

/** Asserts an AgentVista error answer: the status, and a body in the dialect's error shape. */
export function avError(res: { status: number; body: unknown }, status: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return AvErrorSchema.parse(res.body);
}

/** A completed trace of `spanCount` llm spans with fresh ids, started 10 s ago: the batches load tests send. */
export function freshTrace(agent: string, spanCount: number, spanFields: Record<string, unknown> = {}) {
  const traceId = randomUUID();
  const startedAt = Date.now() - 10_000;
  return {
    trace: { trace_id: traceId, agent, status: "completed", started_at: new Date(startedAt).toISOString(), ended_at: new Date(startedAt + 100).toISOString() },
    spans: Array.from({ length: spanCount }, (_, i) => ({
      span_id: randomUUID(),
      trace_id: traceId,
      type: "llm",
      name: `call ${i}`,
      status: "completed",
      started_at: new Date(startedAt + i).toISOString(),
      ended_at: new Date(startedAt + i + 50).toISOString(),
      ...spanFields,
    })),
  };
}
