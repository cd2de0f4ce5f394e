import type { Prisma } from "../../db/database.js";
import type { Page } from "../../model/page.js";
import { agentsRepository } from "../../repositories/agents.js";
import { environmentsRepository } from "../../repositories/environments.js";
import type { Db } from "../../repositories/types.js";
import { schemaVersionsRepository, versionsRepository } from "../../repositories/versions.js";
import { requireScope, type AuthContext } from "../accounts/service.js";
import { AppError, invalidAction, notFound } from "../shared/app-error.js";
import { generatePfid } from "../shared/pfid.js";
import { normalizeSpanTypes, type SchemaVersionContent } from "./span-types.js";

type Order = Record<string, "asc" | "desc">;

/**
 * An agent_deployment token sees and acts on its own agent only: anything of another agent is
 * "not found" to it, as another account's is (a 403 would tell it the id exists).
 */
export function assertAgentAllowed(auth: AuthContext, agentId: string, what = "agent"): void {
  if (!canSeeAgent(auth, agentId)) throw notFound(what);
}

export function canSeeAgent(auth: AuthContext, agentId: string): boolean {
  return !auth.agentId || auth.agentId === agentId;
}

/** An agent id no agent has (not a PFID): the filter of a list that must come out empty. */
const NO_AGENT = "(no agent)";

/**
 * The agent filter a list runs with: what was asked, narrowed to a deployment token's own agent
 * (a list of another agent's things is empty to it).
 */
export function agentFilter(auth: AuthContext, requested: string | undefined): string | undefined {
  if (!auth.agentId) return requested;
  return requested === undefined || requested === auth.agentId ? auth.agentId : NO_AGENT;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === "P2002";
}

/**
 * Environments, agents, agent versions and schema versions: the catalog runs are registered
 * against. Every lookup is scoped to the caller's account; another account's id is "not found".
 */
export class CatalogService {
  constructor(private readonly prisma: Prisma) {}

  // Environments

  async getEnvironment(auth: AuthContext, id: string, db: Db = this.prisma) {
    const env = await environmentsRepository.findById(db, auth.accountId, id);
    if (!env) throw notFound("environment");
    return env;
  }

  listEnvironments(auth: AuthContext, page: Page, orderBy: Order) {
    return environmentsRepository.list(this.prisma, auth.accountId, page, orderBy);
  }

  createEnvironment(auth: AuthContext, name: string, db: Db) {
    requireScope(auth, "admin");
    return environmentsRepository.create(db, { id: generatePfid(auth.partition), accountId: auth.accountId, name });
  }

  async renameEnvironment(auth: AuthContext, id: string, name: string, db: Db) {
    requireScope(auth, "admin");
    await this.getEnvironment(auth, id, db);
    return environmentsRepository.update(db, id, name);
  }

  async deleteEnvironment(auth: AuthContext, id: string, db: Db) {
    requireScope(auth, "admin");
    const env = await this.getEnvironment(auth, id, db);
    if (env.isDefault) throw invalidAction("the default environment cannot be deleted");
    if (await environmentsRepository.inUse(db, auth.accountId, id)) throw invalidAction("the environment has agent instances");
    await environmentsRepository.delete(db, id);
  }

  /** The given environment (must be the caller's) or the account's default one. */
  async resolveEnvironment(auth: AuthContext, id: string | null | undefined, db: Db) {
    if (id) return this.getEnvironment(auth, id, db);
    const env = await environmentsRepository.findDefault(db, auth.accountId);
    if (!env) throw new AppError("unexpected", "the account has no default environment");
    return env;
  }

  // Agents

  async getAgent(auth: AuthContext, id: string, db: Db = this.prisma) {
    const agent = await agentsRepository.findById(db, auth.accountId, id);
    if (!agent || !canSeeAgent(auth, agent.id)) throw notFound("agent");
    return agent;
  }

  listAgents(auth: AuthContext, page: Page, orderBy: Order) {
    return agentsRepository.list(this.prisma, auth.accountId, page, orderBy, auth.agentId ?? undefined);
  }

  instanceCounts(auth: AuthContext, agentIds: string[], db: Db = this.prisma) {
    return agentsRepository.instanceCounts(db, auth.accountId, agentIds);
  }

  async createAgent(
    auth: AuthContext,
    input: { name: string; description?: string | null; external_identifier?: string | null; id?: string },
    db: Db,
  ) {
    requireScope(auth, "admin");
    if (await agentsRepository.findByName(db, auth.accountId, input.name)) throw invalidAction(`an agent named '${input.name}' already exists`);
    if (input.external_identifier && (await agentsRepository.findByExternalIdentifier(db, auth.accountId, input.external_identifier))) {
      throw invalidAction(`an agent with external_identifier '${input.external_identifier}' already exists`);
    }
    if (input.id && (await agentsRepository.findById(db, auth.accountId, input.id))) throw invalidAction("an agent with this id already exists");
    try {
      return await agentsRepository.create(db, {
        id: input.id ?? generatePfid(auth.partition),
        accountId: auth.accountId,
        name: input.name,
        description: input.description ?? null,
        externalIdentifier: input.external_identifier ?? null,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw invalidAction("an agent with this name, external_identifier or id already exists");
      throw error;
    }
  }

  async updateAgent(auth: AuthContext, id: string, input: { name?: string; description?: string | null }, db: Db) {
    requireScope(auth, "admin");
    const agent = await this.getAgent(auth, id, db);
    if (input.name && input.name !== agent.name && (await agentsRepository.findByName(db, auth.accountId, input.name))) {
      throw invalidAction(`an agent named '${input.name}' already exists`);
    }
    return agentsRepository.update(db, auth.accountId, id, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    });
  }

  async setRetired(auth: AuthContext, id: string, retired: boolean, db: Db) {
    requireScope(auth, "admin");
    const agent = await this.getAgent(auth, id, db);
    if (agent.retired === retired) throw invalidAction(retired ? "the agent is already retired" : "the agent is not retired");
    return agentsRepository.update(db, auth.accountId, id, { retired });
  }

  async deleteAgent(auth: AuthContext, id: string, db: Db) {
    requireScope(auth, "admin");
    await this.getAgent(auth, id, db);
    const counts = await agentsRepository.instanceCounts(db, auth.accountId, [id]);
    if (counts.some((c) => c.n > 0)) throw invalidAction("the agent has agent instances");
    await db.agentVersion.deleteMany({ where: { accountId: auth.accountId, agentId: id } });
    await db.agentSchemaVersion.deleteMany({ where: { accountId: auth.accountId, agentId: id } });
    await agentsRepository.delete(db, auth.accountId, id);
  }

  /** Agents are auto-created by name (AgentVista ingest, Prefactor register without agent_id). */
  findOrCreateAgentByName(auth: AuthContext, name: string, db: Db = this.prisma) {
    return agentsRepository.findOrCreateByName(db, auth.accountId, name, generatePfid(auth.partition));
  }

  /** For register: the agent by id (must be the caller's), else found or created by name. */
  async resolveAgent(auth: AuthContext, agentId: string | null | undefined, name: string | null | undefined, db: Db) {
    if (agentId) {
      assertAgentAllowed(auth, agentId);
      return this.getAgent(auth, agentId, db);
    }
    if (!name) {
      throw new AppError("required_value", "agent_id is required (or agent_version.name, to find or create the agent by name)", {
        fields: [{ path: "agent_id", message: "is required when agent_version.name is absent", code: "required_value" }],
      });
    }
    if (auth.agentId) {
      const agent = await this.getAgent(auth, auth.agentId, db);
      if (agent.name !== name) throw new AppError("not_permitted", "this token is limited to another agent");
      return agent;
    }
    return this.findOrCreateAgentByName(auth, name, db);
  }

  // Schema versions

  async getSchemaVersion(auth: AuthContext, id: string, db: Db = this.prisma) {
    const version = await schemaVersionsRepository.findById(db, auth.accountId, id);
    if (!version || !canSeeAgent(auth, version.agentId)) throw notFound("agent schema version");
    return version;
  }

  listSchemaVersions(auth: AuthContext, agentId: string | undefined, page: Page, orderBy: Order) {
    return schemaVersionsRepository.list(this.prisma, auth.accountId, agentFilter(auth, agentId), page, orderBy);
  }

  /** Same external_identifier + same content → the existing version; new content → a new one. */
  async findOrCreateSchemaVersion(
    auth: AuthContext,
    agentId: string,
    input: SchemaVersionContent & { external_identifier: string },
    db: Db,
  ) {
    requireScope(auth, "write");
    assertAgentAllowed(auth, agentId);
    const { spanTypes, contentHash } = await normalizeSpanTypes(input);
    return schemaVersionsRepository.findOrCreate(db, {
      id: generatePfid(auth.partition),
      accountId: auth.accountId,
      agentId,
      externalIdentifier: input.external_identifier,
      spanTypeSchemas: spanTypes,
      contentHash,
    });
  }

  // Agent versions

  async getVersion(auth: AuthContext, id: string, db: Db = this.prisma) {
    const version = await versionsRepository.findById(db, auth.accountId, id);
    if (!version || !canSeeAgent(auth, version.agentId)) throw notFound("agent version");
    return version;
  }

  listVersions(auth: AuthContext, agentId: string | undefined, page: Page, orderBy: Order) {
    return versionsRepository.list(this.prisma, auth.accountId, agentFilter(auth, agentId), page, orderBy);
  }

  /** `schemaVersion`: the schema version input.schemaVersionId names, when the caller has just read it. */
  async findOrCreateVersion(
    auth: AuthContext,
    input: { agentId: string; schemaVersionId: string; externalIdentifier: string; name?: string | null; description?: string | null },
    db: Db,
    schemaVersion?: { id: string; agentId: string },
  ) {
    requireScope(auth, "write");
    assertAgentAllowed(auth, input.agentId);
    if (schemaVersion?.id !== input.schemaVersionId) schemaVersion = await this.getSchemaVersion(auth, input.schemaVersionId, db);
    if (schemaVersion.agentId !== input.agentId) {
      throw new AppError("invalid_value", "agent_schema_version_id belongs to another agent", {
        fields: [{ path: "details.agent_schema_version_id", message: "belongs to another agent" }],
      });
    }
    return versionsRepository.findOrCreate(db, {
      id: generatePfid(auth.partition),
      accountId: auth.accountId,
      agentId: input.agentId,
      agentSchemaVersionId: input.schemaVersionId,
      externalIdentifier: input.externalIdentifier,
      name: input.name ?? null,
      description: input.description ?? null,
    });
  }

  /** Makes the version (and its schema version) the agent's current ones. */
  setCurrent(auth: AuthContext, agentId: string, versionId: string, schemaVersionId: string, db: Db) {
    return agentsRepository.setCurrent(db, auth.accountId, agentId, versionId, schemaVersionId);
  }
}
