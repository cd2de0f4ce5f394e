import type { Request, Router } from "express";
import {
  AvAgentDetailSchema,
  AvAgentIdParamsSchema,
  AvAgentListResponseSchema,
  AvAgentRunsQuerySchema,
  AvAgentStatsQuerySchema,
  AvAgentStatsSchema,
  AvTraceListResponseSchema,
} from "@spyglass/contracts";
import { requireScope } from "../../domain/accounts/service.js";
import { STATS_WINDOWS } from "../../domain/traces/analytics.js";
import { authOf } from "../../http/context.js";
import { respond } from "../../http/respond.js";
import { parseInput } from "../../http/validation.js";
import type { Services } from "../../services.js";
import { presentAgentSummary, presentTrace } from "./present.js";

const DEFAULT_PAGE_SIZE = 20;

function agentIdOf(req: Request): string {
  return parseInput(AvAgentIdParamsSchema, req.params).id.toLowerCase();
}

export function registerAgentRoutes(av: Router, services: Services): void {
  av.get("/agents", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const rows = await services.agentAnalytics.summaries(auth);
    respond(res, 200, AvAgentListResponseSchema, rows.map(presentAgentSummary));
  });

  av.get("/agents/:id", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const s = await services.agentAnalytics.summary(auth, agentIdOf(req));
    respond(res, 200, AvAgentDetailSchema, { ...presentAgentSummary(s), successful_runs: s.successfulRuns, failed_runs: s.failedRuns });
  });

  av.get("/agents/:id/stats", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const agentId = agentIdOf(req);
    const q = parseInput(AvAgentStatsQuerySchema, req.query, "query");
    // AgentVista's rule: any other window means 7 days.
    const window = STATS_WINDOWS.find((d) => String(d) === q.days) ?? 7;
    const { agent, days } = await services.agentAnalytics.daily(auth, agentId, window);
    respond(res, 200, AvAgentStatsSchema, {
      agent_id: agent.id,
      agent_name: agent.name,
      window,
      days: days.map((d) => ({
        date: d.date,
        total_runs: d.totalRuns,
        successful_runs: d.successfulRuns,
        failed_runs: d.failedRuns,
        total_cost: d.totalCost,
        avg_duration_ms: d.avgDurationMs,
        p95_duration_ms: d.p95DurationMs,
      })),
    });
  });

  av.get("/agents/:id/runs", async (req, res) => {
    const auth = authOf(req);
    requireScope(auth, "read");
    const agentId = agentIdOf(req);
    const q = parseInput(AvAgentRunsQuerySchema, req.query, "query");
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? DEFAULT_PAGE_SIZE;
    const result = await services.traces.listOfAgent(auth, agentId, { page, pageSize });
    respond(res, 200, AvTraceListResponseSchema, {
      results: result.rows.map(presentTrace),
      total: result.total,
      page,
      page_size: pageSize,
      has_next: result.hasNext,
    });
  });
}
