-- CreateIndex
CREATE INDEX "agent_instances_status_last_activity_at_idx" ON "agent_instances"("status", "last_activity_at");
