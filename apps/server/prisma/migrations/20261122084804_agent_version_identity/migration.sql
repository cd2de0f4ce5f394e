-- DropIndex
DROP INDEX "agent_versions_account_id_agent_id_external_identifier_idx";

-- AlterTable
ALTER TABLE "agent_versions" ALTER COLUMN "agent_schema_version_id" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "agent_versions_account_id_agent_id_external_identifier_agen_key" ON "agent_versions"("account_id", "agent_id", "external_identifier", "agent_schema_version_id");
