import type { Page } from "../model/page.js";
import { findOrInsert, type Db } from "./types.js";

export const versionsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agentVersion.findFirst({ where: { accountId, id } });
  },
  async list(db: Db, accountId: string, agentId: string | undefined, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where = { accountId, ...(agentId ? { agentId } : {}) };
    const [items, count] = await Promise.all([
      db.agentVersion.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.agentVersion.count({ where }),
    ]);
    return { items, count };
  },
  /** Find-or-create on the version's identity; safe when two registers race. */
  async findOrCreate(
    db: Db,
    data: { id: string; accountId: string; agentId: string; agentSchemaVersionId: string; externalIdentifier: string; name?: string | null; description?: string | null },
  ) {
    const where = {
      accountId_agentId_externalIdentifier_agentSchemaVersionId: {
        accountId: data.accountId,
        agentId: data.agentId,
        externalIdentifier: data.externalIdentifier,
        agentSchemaVersionId: data.agentSchemaVersionId,
      },
    };
    return findOrInsert(
      () => db.agentVersion.findUnique({ where }),
      () => db.agentVersion.createMany({ data: [data], skipDuplicates: true }),
      "agent version",
    );
  },
};

export const schemaVersionsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agentSchemaVersion.findFirst({ where: { accountId, id } });
  },
  async list(db: Db, accountId: string, agentId: string | undefined, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where = { accountId, ...(agentId ? { agentId } : {}) };
    const [items, count] = await Promise.all([
      db.agentSchemaVersion.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take: page.pageSize }),
      db.agentSchemaVersion.count({ where }),
    ]);
    return { items, count };
  },
  /** Same identifier + same content → the existing row; safe when two registers race. */
  async findOrCreate(
    db: Db,
    data: { id: string; accountId: string; agentId: string; externalIdentifier: string; spanTypeSchemas: unknown; contentHash: string },
  ) {
    const where = {
      accountId_agentId_externalIdentifier_contentHash: {
        accountId: data.accountId,
        agentId: data.agentId,
        externalIdentifier: data.externalIdentifier,
        contentHash: data.contentHash,
      },
    };
    // Raw insert with our own JSON text: Prisma's JSON serialization drops "__proto__" keys,
    // which a JSON Schema may legitimately name (e.g. as a property).
    return findOrInsert(
      () => db.agentSchemaVersion.findUnique({ where }),
      () => db.$executeRaw`
        INSERT INTO agent_schema_versions (id, account_id, agent_id, external_identifier, span_type_schemas, content_hash, inserted_at, updated_at)
        VALUES (${data.id}, ${data.accountId}, ${data.agentId}, ${data.externalIdentifier}, ${JSON.stringify(data.spanTypeSchemas)}::jsonb,
                ${data.contentHash}, now(), now())
        ON CONFLICT (account_id, agent_id, external_identifier, content_hash) DO NOTHING`,
      "agent schema version",
    );
  },
};
