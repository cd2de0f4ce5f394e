import type { Prisma, SqlDriver } from "../../db/database.js";
import { agentsRepository } from "../../repositories/agents.js";
import { tracesRepository, type TraceFilters, type TraceOrderField } from "../../repositories/traces.js";
import type { AuthContext } from "../accounts/service.js";
import { agentFilter, canSeeAgent } from "../catalog/service.js";
import { notFound } from "../shared/app-error.js";

export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface TraceListRequest extends PageRequest {
  filters: TraceFilters;
  orderBy: TraceOrderField;
  direction: "asc" | "desc";
}

/** Reading runs as traces (header + spans) and recording their outcome. */
export class TracesService {
  constructor(
    private readonly prisma: Prisma,
    private readonly sql: SqlDriver,
  ) {}

  async list(auth: AuthContext, req: TraceListRequest) {
    const filters = { ...req.filters, agentId: agentFilter(auth, req.filters.agentId) };
    const { rows, total } = await tracesRepository.listTraces(this.sql, auth.accountId, filters, {
      orderBy: req.orderBy,
      direction: req.direction,
      offset: (req.page - 1) * req.pageSize,
      limit: req.pageSize,
    });
    return { rows, total, hasNext: req.page * req.pageSize < total };
  }

  /** Runs of one agent, newest first; 404 when the agent is not the caller's. */
  async listOfAgent(auth: AuthContext, agentId: string, page: PageRequest) {
    if (!canSeeAgent(auth, agentId) || !(await agentsRepository.findById(this.prisma, auth.accountId, agentId))) throw notFound("agent");
    return this.list(auth, { ...page, filters: { agentId }, orderBy: "started_at", direction: "desc" });
  }

  async get(auth: AuthContext, traceId: string) {
    // Both reads at once (spans of a missing trace are simply none).
    const [trace, spans] = await Promise.all([
      tracesRepository.findTrace(this.sql, auth.accountId, traceId),
      tracesRepository.listSpans(this.sql, auth.accountId, traceId),
    ]);
    if (!trace || !canSeeAgent(auth, trace.agentId)) throw notFound("trace");
    return { trace, spans };
  }

  /** Sets success, and outcome unless undefined (null clears it). */
  async setOutcome(auth: AuthContext, traceId: string, success: boolean, outcome: string | null | undefined) {
    // An agent_deployment token may only label its own agent's runs.
    const row = await tracesRepository.setOutcome(this.prisma, auth.accountId, traceId, success, outcome, auth.agentId);
    if (!row) throw notFound("trace");
    return row;
  }
}
