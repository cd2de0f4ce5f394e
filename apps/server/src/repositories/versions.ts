import { Prisma } from "../generated/prisma/client.js";
import { LIST_BYTE_BUDGET, type Page } from "../model/page.js";
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

const SCHEMA_VERSION_COLUMNS: Record<string, string> = { insertedAt: "inserted_at", updatedAt: "updated_at", externalIdentifier: "external_identifier" };

export const schemaVersionsRepository = {
  findById(db: Db, accountId: string, id: string) {
    return db.agentSchemaVersion.findFirst({ where: { accountId, id } });
  },
  /**
   * A page of schema versions. Their span type schemas come whole (up to megabytes each), so the
   * page ends once the versions before one reach LIST_BYTE_BUDGET: sized in the database first,
   * then only those read.
   */
  async list(db: Db, accountId: string, agentId: string | undefined, page: Page, orderBy: Record<string, "asc" | "desc">) {
    const where = { accountId, ...(agentId ? { agentId } : {}) };
    const [field, direction] = Object.entries(orderBy)[0] ?? ["insertedAt", "asc"];
    const order = Prisma.sql`ORDER BY ${Prisma.raw(SCHEMA_VERSION_COLUMNS[field] ?? "inserted_at")} ${direction === "desc" ? Prisma.sql`DESC` : Prisma.sql`ASC`}, id ASC`;
    const [[fitting], count] = await Promise.all([
      db.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM (
          SELECT COALESCE(sum(octet_length(span_type_schemas::text)) OVER (${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS bytes_before
          FROM (SELECT id, inserted_at, updated_at, external_identifier, span_type_schemas FROM agent_schema_versions
                WHERE account_id = ${accountId} AND (${agentId ?? null}::text IS NULL OR agent_id = ${agentId ?? null}::text)
                ${order} LIMIT ${page.pageSize} OFFSET ${page.offset}) page
        ) sized WHERE bytes_before < ${LIST_BYTE_BUDGET}`,
      db.agentSchemaVersion.count({ where }),
    ]);
    const take = fitting?.n ?? 0;
    const items = take === 0 ? [] : await db.agentSchemaVersion.findMany({ where, orderBy: [orderBy, { id: "asc" }], skip: page.offset, take });
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
