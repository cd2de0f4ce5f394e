import type { Db } from "./types.js";

export interface ModelPriceOverrideRow {
  id: string;
  modelPattern: string;
  provider: string | null;
  /** Decimal text. */
  inputPerMillion: string;
  outputPerMillion: string;
  cachedInputPerMillion: string | null;
  /** YYYY-MM-DD. */
  effectiveFrom: string;
}

const COLUMNS = `id, model_pattern AS "modelPattern", provider, input_per_million::text AS "inputPerMillion",
  output_per_million::text AS "outputPerMillion", cached_input_per_million::text AS "cachedInputPerMillion",
  to_char(effective_from, 'YYYY-MM-DD') AS "effectiveFrom"`;

export const modelPricesRepository = {
  list(db: Db, accountId: string) {
    return db.$queryRawUnsafe<ModelPriceOverrideRow[]>(
      `SELECT ${COLUMNS} FROM model_prices WHERE account_id = $1 ORDER BY model_pattern, effective_from, id`,
      accountId,
    );
  },
  async create(db: Db, p: ModelPriceOverrideRow & { accountId: string }) {
    const rows = await db.$queryRawUnsafe<ModelPriceOverrideRow[]>(
      `INSERT INTO model_prices (account_id, id, model_pattern, provider, input_per_million, output_per_million, cached_input_per_million, effective_from)
       VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8::date) RETURNING ${COLUMNS}`,
      p.accountId, p.id, p.modelPattern, p.provider, p.inputPerMillion, p.outputPerMillion, p.cachedInputPerMillion, p.effectiveFrom,
    );
    return rows[0]!;
  },
  async delete(db: Db, accountId: string, id: string) {
    return (await db.$executeRawUnsafe(`DELETE FROM model_prices WHERE account_id = $1 AND id = $2`, accountId, id)) > 0;
  },
};
