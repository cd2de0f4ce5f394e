-- Per-account overrides of the model price table shipped with the server (src/domain/prices/table.ts):
-- USD per million tokens, from effective_from (UTC day) on.
CREATE TABLE "model_prices" (
    "account_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "model_pattern" TEXT NOT NULL,
    "provider" TEXT,
    "input_per_million" DECIMAL(14,6) NOT NULL,
    "output_per_million" DECIMAL(14,6) NOT NULL,
    "cached_input_per_million" DECIMAL(14,6),
    "effective_from" DATE NOT NULL,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_prices_pkey" PRIMARY KEY ("account_id","id")
);
