-- AlterTable
ALTER TABLE "agents" DROP CONSTRAINT "agents_pkey",
ADD CONSTRAINT "agents_pkey" PRIMARY KEY ("account_id", "id");
