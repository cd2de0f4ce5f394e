-- CreateTable
CREATE TABLE "accounts" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "pfid_partition" INTEGER NOT NULL,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "environments" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "environments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "name" TEXT,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "scopes" TEXT[],
    "token_scope" TEXT NOT NULL DEFAULT 'account',
    "agent_id" TEXT,
    "environment_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'active',
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "external_identifier" TEXT,
    "retired" BOOLEAN NOT NULL DEFAULT false,
    "current_version_id" TEXT,
    "current_schema_version_id" TEXT,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_schema_versions" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "external_identifier" TEXT NOT NULL,
    "span_type_schemas" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_schema_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_versions" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "agent_schema_version_id" TEXT,
    "external_identifier" TEXT NOT NULL,
    "name" TEXT,
    "description" TEXT,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_instances" (
    "account_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "agent_version_id" TEXT,
    "agent_schema_version_id" TEXT,
    "environment_id" TEXT,
    "status" TEXT NOT NULL,
    "purpose" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "termination_reason" TEXT,
    "success" BOOLEAN,
    "outcome" TEXT,
    "error_message" TEXT,
    "total_tokens" BIGINT,
    "total_cost_usd" DECIMAL(20,6),
    "totals_explicit" BOOLEAN NOT NULL DEFAULT false,
    "metadata" JSONB,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_instances_pkey" PRIMARY KEY ("account_id","id")
);

-- CreateTable
CREATE TABLE "spans" (
    "account_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "agent_instance_id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "parent_span_id" TEXT,
    "schema_name" TEXT NOT NULL,
    "name" TEXT,
    "status" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "result_payload" JSONB,
    "summary" TEXT,
    "payload_validation" JSONB,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "model" TEXT,
    "input_tokens" INTEGER,
    "output_tokens" INTEGER,
    "total_tokens" INTEGER,
    "cost_usd" DECIMAL(20,6),
    "error_message" TEXT,
    "metadata" JSONB,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "spans_pkey" PRIMARY KEY ("account_id","id")
);

-- CreateTable
CREATE TABLE "idempotency_records" (
    "account_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "response_body" TEXT NOT NULL,
    "inserted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("account_id","key")
);

-- CreateTable
CREATE TABLE "usage_counters" (
    "account_id" TEXT NOT NULL,
    "month" TEXT NOT NULL,
    "events" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_counters_pkey" PRIMARY KEY ("account_id","month")
);

-- CreateIndex
CREATE INDEX "environments_account_id_inserted_at_idx" ON "environments"("account_id", "inserted_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_account_id_inserted_at_idx" ON "api_tokens"("account_id", "inserted_at");

-- CreateIndex
CREATE INDEX "agents_account_id_inserted_at_idx" ON "agents"("account_id", "inserted_at");

-- CreateIndex
CREATE UNIQUE INDEX "agents_account_id_name_key" ON "agents"("account_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "agents_account_id_external_identifier_key" ON "agents"("account_id", "external_identifier");

-- CreateIndex
CREATE INDEX "agent_schema_versions_account_id_agent_id_inserted_at_idx" ON "agent_schema_versions"("account_id", "agent_id", "inserted_at");

-- CreateIndex
CREATE UNIQUE INDEX "agent_schema_versions_account_id_agent_id_external_identifi_key" ON "agent_schema_versions"("account_id", "agent_id", "external_identifier", "content_hash");

-- CreateIndex
CREATE INDEX "agent_versions_account_id_agent_id_external_identifier_idx" ON "agent_versions"("account_id", "agent_id", "external_identifier");

-- CreateIndex
CREATE INDEX "agent_versions_account_id_agent_id_inserted_at_idx" ON "agent_versions"("account_id", "agent_id", "inserted_at");

-- CreateIndex
CREATE INDEX "agent_instances_account_id_agent_id_started_at_idx" ON "agent_instances"("account_id", "agent_id", "started_at");

-- CreateIndex
CREATE INDEX "agent_instances_account_id_started_at_idx" ON "agent_instances"("account_id", "started_at");

-- CreateIndex
CREATE INDEX "agent_instances_account_id_status_last_activity_at_idx" ON "agent_instances"("account_id", "status", "last_activity_at");

-- CreateIndex
CREATE INDEX "spans_account_id_agent_instance_id_started_at_idx" ON "spans"("account_id", "agent_instance_id", "started_at");

-- CreateIndex
CREATE INDEX "spans_account_id_agent_id_started_at_idx" ON "spans"("account_id", "agent_id", "started_at");

-- CreateIndex
CREATE INDEX "idempotency_records_expires_at_idx" ON "idempotency_records"("expires_at");
