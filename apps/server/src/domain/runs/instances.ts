import type { Prisma } from "../../db/database.js";
import type { Page } from "../../model/page.js";
import { instancesRepository, type InstanceFilters } from "../../repositories/instances.js";
import type { Db } from "../../repositories/types.js";
import { requireScope, type AuthContext } from "../accounts/service.js";
import { agentFilter, canSeeAgent, type CatalogService } from "../catalog/service.js";
import type { SchemaVersionContent } from "../catalog/span-types.js";
import { metrics } from "../../metrics.js";
import { AppError, invalidAction, notFound } from "../shared/app-error.js";
import { generatePfid } from "../shared/pfid.js";

export type Instance = NonNullable<Awaited<ReturnType<typeof instancesRepository.findById>>>;

export interface RegisterInput {
  agent_id?: string | null;
  environment_id?: string | null;
  agent_version: { name?: string | null; external_identifier: string; description?: string | null };
  agent_schema_version: SchemaVersionContent & { external_identifier: string };
  id?: string;
  update_current_version?: boolean;
  purpose?: string;
}

/** The error SDKs read as "stop this run": 409 with control.terminate. */
export function terminatedError(instance: { terminationReason: string | null }): AppError {
  return new AppError("invalid_action", "the agent instance was terminated", {
    control: { terminate: true, reason: instance.terminationReason },
  });
}

const durationMs = (start: Date | null, end: Date) => (start ? BigInt(Math.max(0, end.getTime() - start.getTime())) : null);

/** What a state transition writes (updated_at is added by InstancesService.transition). */
type InstanceChange = Partial<Pick<Instance, "status" | "startedAt" | "lastActivityAt">>;

/** Agent instances (runs): registration and the instance state machine. */
export class InstancesService {
  constructor(
    private readonly prisma: Prisma,
    private readonly catalog: CatalogService,
  ) {}

  async get(auth: AuthContext, id: string, db: Db = this.prisma): Promise<Instance> {
    const instance = await instancesRepository.findById(db, auth.accountId, id);
    if (!instance || !canSeeAgent(auth, instance.agentId)) throw notFound("agent instance");
    return instance;
  }

  list(auth: AuthContext, filters: InstanceFilters, page: Page, orderBy: Record<string, "asc" | "desc">) {
    return instancesRepository.list(this.prisma, auth.accountId, { ...filters, agentId: agentFilter(auth, filters.agentId) }, page, orderBy);
  }

  spanCounts(auth: AuthContext, ids: string[], db: Db = this.prisma) {
    return instancesRepository.spanCounts(db, auth.accountId, ids);
  }

  /** Finds or creates the agent, schema version and version, then creates a pending instance. */
  register(auth: AuthContext, input: RegisterInput, db: Db): Promise<Instance> {
    return metrics.counted("prefactor", "run", () => this.registerRun(auth, input, db));
  }

  private async registerRun(auth: AuthContext, input: RegisterInput, db: Db): Promise<Instance> {
    requireScope(auth, "write");
    const agent = await this.catalog.resolveAgent(auth, input.agent_id, input.agent_version.name, db);
    if (agent.retired) throw invalidAction("the agent is retired");
    const environment = await this.catalog.resolveEnvironment(auth, input.environment_id, db);
    const schemaVersion = await this.catalog.findOrCreateSchemaVersion(auth, agent.id, input.agent_schema_version, db);
    const version = await this.catalog.findOrCreateVersion(
      auth,
      {
        agentId: agent.id,
        schemaVersionId: schemaVersion.id,
        externalIdentifier: input.agent_version.external_identifier,
        name: input.agent_version.name,
        description: input.agent_version.description,
      },
      db,
      schemaVersion,
    );
    // (Already current as this transaction read the agent: nothing to write. A registration racing
    // one of another version may leave either current, as it could in either order.)
    const current = agent.currentVersionId === version.id && agent.currentSchemaVersionId === schemaVersion.id;
    if (!current && (input.update_current_version !== false || !agent.currentVersionId)) {
      await this.catalog.setCurrent(auth, agent.id, version.id, schemaVersion.id, db);
    }
    if (input.id && (await instancesRepository.findById(db, auth.accountId, input.id))) {
      throw invalidAction("an agent instance with this id already exists");
    }
    return instancesRepository.create(db, {
      accountId: auth.accountId,
      id: input.id ?? generatePfid(auth.partition),
      agentId: agent.id,
      agentVersionId: version.id,
      agentSchemaVersionId: schemaVersion.id,
      environmentId: environment.id,
      status: "pending",
      purpose: input.purpose ?? null,
    });
  }

  /** Loads an instance the caller may write to. */
  async forWrite(auth: AuthContext, id: string, db: Db): Promise<Instance> {
    requireScope(auth, "write");
    return this.get(auth, id, db);
  }

  /**
   * The state machine's compare-and-set: applies `change` while the instance is in one of `from`,
   * and returns the instance as written (the row read before with the change applied: the update
   * sets every column it changes, updated_at included, so reading it back would only repeat it).
   * Null when the instance had left `from` meanwhile.
   */
  private async transition(auth: AuthContext, instance: Instance, from: string[], change: InstanceChange, db: Db): Promise<Instance | null> {
    const written = { ...change, updatedAt: new Date() };
    if (!(await instancesRepository.transition(db, auth.accountId, instance.id, from, written))) return null;
    return { ...instance, ...written };
  }

  async start(auth: AuthContext, id: string, timestamp: Date | undefined, db: Db): Promise<Instance> {
    const instance = await this.forWrite(auth, id, db);
    const at = timestamp ?? new Date();
    if (instance.status === "terminated") throw terminatedError(instance);
    const started = await this.transition(auth, instance, ["pending"], { status: "active", startedAt: at, lastActivityAt: new Date() }, db);
    if (!started) throw invalidAction(`cannot start an instance that is ${instance.status}; only a pending instance can start`);
    return started;
  }

  /**
   * Ends the instance (finish or terminate) with `change` while it is in one of `from`, closing its
   * open spans at its end: the instance as written, or null when it had left `from` meanwhile. Real
   * terminal data also replaces a time-out the sweeper inferred (`overProvisional`).
   */
  private async end(
    auth: AuthContext,
    instance: Instance,
    from: string[],
    overProvisional: boolean,
    change: Pick<Instance, "status" | "terminationReason" | "startedAt" | "finishedAt" | "durationMs">,
    db: Db,
  ): Promise<Instance | null> {
    const written = { ...change, provisionalEnd: false, updatedAt: new Date() };
    if (!(await instancesRepository.end(db, auth.accountId, instance.id, from, overProvisional, { ...written, finishedAt: change.finishedAt! }))) return null;
    return { ...instance, ...written };
  }

  async finish(auth: AuthContext, id: string, status: "complete" | "failed" | "cancelled", timestamp: Date | undefined, db: Db): Promise<Instance> {
    const instance = await this.forWrite(auth, id, db);
    const at = timestamp ?? new Date();
    // A time-out the sweeper inferred is provisional: this report replaces it.
    const provisional = instance.status === "terminated" && instance.provisionalEnd;
    if (instance.status === "terminated" && !provisional) throw terminatedError(instance);
    if (status !== "cancelled" && instance.startedAt && at < instance.startedAt) {
      throw new AppError("invalid_value", "timestamp: must not be before the instance's started_at", {
        fields: [{ path: "timestamp", message: "must not be before started_at" }],
      });
    }
    const finished =
      status === "cancelled"
        ? await this.end(auth, instance, ["pending"], provisional && !instance.startedAt, { status, terminationReason: null, startedAt: at, finishedAt: at, durationMs: 0n }, db)
        : await this.end(
            auth,
            instance,
            ["active"],
            provisional,
            { status, terminationReason: null, startedAt: instance.startedAt, finishedAt: at, durationMs: durationMs(instance.startedAt, at) },
            db,
          );
    if (!finished) {
      throw invalidAction(
        status === "cancelled"
          ? `cannot cancel an instance that is ${instance.status}; only a pending instance can be cancelled`
          : `cannot finish an instance that is ${instance.status} as ${status}; only an active instance can`,
      );
    }
    return finished;
  }

  async terminate(auth: AuthContext, id: string, reason: string, db: Db): Promise<Instance> {
    const instance = await this.forWrite(auth, id, db);
    const at = new Date();
    const terminated = await this.end(
      auth,
      instance,
      ["active"],
      false,
      { status: "terminated", terminationReason: reason, startedAt: instance.startedAt, finishedAt: at, durationMs: durationMs(instance.startedAt, at) },
      db,
    );
    if (!terminated) throw invalidAction(`cannot terminate an instance that is ${instance.status}; only an active instance can`);
    return terminated;
  }
}
