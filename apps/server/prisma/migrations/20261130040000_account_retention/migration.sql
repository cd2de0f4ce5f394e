-- Per-account retention override (days); NULL follows the server's RETENTION_DAYS.
ALTER TABLE "accounts" ADD COLUMN "retention_days" INTEGER;
