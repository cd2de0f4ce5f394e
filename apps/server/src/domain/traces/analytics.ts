import type { Prisma } from "../../db/database.js";
import { agentsRepository } from "../../repositories/agents.js";
import type { AgentRunStats } from "../../model/rows.js";
import { traceStatsRepository } from "../../repositories/trace-stats.js";
import type { AuthContext } from "../accounts/service.js";
import { canSeeAgent } from "../catalog/service.js";
import { AppError, notFound } from "../shared/app-error.js";

const DAY_MS = 86_400_000;
/** Outcome labels are free text: a comparison shows the most frequent ones. */
export const MAX_OUTCOME_LABELS = 100;
export const STATS_WINDOWS = [7, 30, 90] as const;

export interface AgentComparison extends AgentRunStats {
  outcomes: Record<string, number>;
}

/** Per-agent figures over runs: totals, rates, costs, duration percentiles, per-day series. */
export class AgentAnalyticsService {
  constructor(private readonly prisma: Prisma) {}

  /** An agent of the caller's account by id, else by name. */
  private async resolve(auth: AuthContext, idOrName: string) {
    const agent =
      (await agentsRepository.findById(this.prisma, auth.accountId, idOrName)) ??
      (await agentsRepository.findByName(this.prisma, auth.accountId, idOrName));
    if (!agent || !canSeeAgent(auth, agent.id)) throw new AppError("not_found", `agent ${idOrName} not found`);
    return agent;
  }

  /** Two agents side by side, in the order asked; `days` limits the window to recent runs. */
  async compare(auth: AuthContext, a: string, b: string, days: number | undefined, now = new Date()): Promise<[AgentComparison, AgentComparison]> {
    const agents = [await this.resolve(auth, a), await this.resolve(auth, b)];
    const ids = agents.map((agent) => agent.id);
    const since = days === undefined ? undefined : new Date(now.getTime() - days * DAY_MS);
    const stats = await traceStatsRepository.agentRunStats(this.prisma, auth.accountId, { agentIds: ids, since });
    const outcomes = await traceStatsRepository.outcomeCounts(this.prisma, auth.accountId, ids, { since, limit: MAX_OUTCOME_LABELS });
    const of = (id: string): AgentComparison => {
      const row = stats.find((s) => s.agentId === id);
      if (!row) throw notFound("agent");
      return { ...row, outcomes: Object.fromEntries(outcomes.filter((o) => o.agentId === id).map((o) => [o.outcome, o.runs])) };
    };
    return [of(ids[0]!), of(ids[1]!)];
  }

  /** Every agent of the account with its all-time figures, by name. */
  summaries(auth: AuthContext) {
    return traceStatsRepository.agentRunStats(this.prisma, auth.accountId, auth.agentId ? { agentIds: [auth.agentId] } : {});
  }

  async summary(auth: AuthContext, agentId: string) {
    if (!canSeeAgent(auth, agentId)) throw notFound("agent");
    const [row] = await traceStatsRepository.agentRunStats(this.prisma, auth.accountId, { agentIds: [agentId] });
    if (!row) throw notFound("agent");
    return row;
  }

  /** One entry per UTC day of the last `days` days (today included), zero-filled. */
  async daily(auth: AuthContext, agentId: string, days: number, now = new Date()) {
    const agent = await agentsRepository.findById(this.prisma, auth.accountId, agentId);
    if (!agent || !canSeeAgent(auth, agent.id)) throw notFound("agent");
    const today = now.toISOString().slice(0, 10);
    const first = new Date(Date.parse(`${today}T00:00:00Z`) - (days - 1) * DAY_MS).toISOString().slice(0, 10);
    const rows = await traceStatsRepository.dailyStats(this.prisma, auth.accountId, agent.id, first, today);
    return { agent, days: rows };
  }
}
