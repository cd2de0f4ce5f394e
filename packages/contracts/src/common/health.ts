import { z } from "../zod.js";

export const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");
export const ReadySchema = z
  .object({ status: z.enum(["ok", "unavailable"]), database: z.enum(["pglite", "postgresql"]) })
  .openapi("Ready");
