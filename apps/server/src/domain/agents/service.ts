import type { Prisma } from "../../db/database.js";
import { agentsRepository } from "../../repositories/agents.js";
import type { Db } from "../../repositories/types.js";
import type { AuthContext } from "../accounts/service.js";
import { notFound } from "../shared/app-error.js";
import { generatePfid } from "../shared/pfid.js";

export class AgentsService {
  constructor(private readonly prisma: Prisma) {}

  /** Agents are auto-created by name (AgentVista ingest, Prefactor register without agent_id). */
  findOrCreateByName(auth: AuthContext, name: string, db: Db = this.prisma) {
    return agentsRepository.findOrCreateByName(db, auth.accountId, name, generatePfid(auth.partition));
  }

  async get(auth: AuthContext, id: string, db: Db = this.prisma) {
    const agent = await agentsRepository.findById(db, auth.accountId, id);
    if (!agent) throw notFound("agent");
    return agent;
  }
}
