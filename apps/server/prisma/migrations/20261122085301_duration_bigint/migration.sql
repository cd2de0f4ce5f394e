-- AlterTable
ALTER TABLE "agent_instances" ALTER COLUMN "duration_ms" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "spans" ALTER COLUMN "duration_ms" SET DATA TYPE BIGINT;
