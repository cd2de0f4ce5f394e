import { isIP } from "node:net";
import { z } from "zod";

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected an integer between ${min} and ${max}`).max(max, `expected an integer between ${min} and ${max}`));

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "expected a URL such as postgresql://user:password@host:5432/database");

/** Express's "trust proxy" values Spyglass accepts: a hop count, or a list of addresses, subnets and named ranges. */
function isTrustProxy(value: string): boolean {
  if (/^\d{1,2}$/.test(value)) return true;
  return value.split(",").every((part) => {
    const [address, prefix, extra] = part.trim().split("/");
    if (["loopback", "linklocal", "uniquelocal"].includes(address!) && prefix === undefined) return true;
    return isIP(address!) !== 0 && extra === undefined && (prefix === undefined || /^\d{1,3}$/.test(prefix));
  });
}

/** Every setting the server reads from the environment. Nothing else reads process.env. */
export const ConfigSchema = z.object({
  PORT: intFrom(0, 65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: postgresUrl.optional(),
  DB_POOL_SIZE: intFrom(1, 200).default(20),
  DB_POOL_ACQUIRE_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
  DB_STATEMENT_TIMEOUT_MS: intFrom(0, 3_600_000).default(30_000),
  SPYGLASS_DATA_DIR: z.string().min(1).default("./.spyglass"),
  DISK_FREE_MIN_MB: intFrom(0, 1_000_000).default(256),
  SPYGLASS_ADMIN_TOKEN: z.string().min(16, "expected at least 16 characters").max(256).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JSON_BODY_LIMIT_BYTES: intFrom(1024, 512 * 1024 * 1024).default(5 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: intFrom(1000, 3_600_000).default(30_000),
  SHUTDOWN_TIMEOUT_MS: intFrom(0, 600_000).default(10_000),
  SPAN_VALIDATION: z.enum(["record", "strict"]).default("record"),
  IDEMPOTENCY_TTL_HOURS: intFrom(1, 24 * 365).default(24),
  RUN_TIMEOUT_MS: intFrom(1000, 365 * 24 * 3_600_000).default(30 * 60_000),
  SWEEP_INTERVAL_MS: intFrom(1000, 24 * 3_600_000).default(60_000),
  EVENT_LIMIT_MONTHLY: intFrom(1, Number.MAX_SAFE_INTEGER).optional(),
  RATE_LIMIT_PER_MINUTE: intFrom(0, 10_000_000).default(60_000),
  AUTH_FAILURES_PER_MINUTE: intFrom(0, 10_000_000).default(300),
  TRUST_PROXY: z
    .string()
    .trim()
    .refine(isTrustProxy, "expected a hop count, or addresses, subnets, loopback, linklocal or uniquelocal separated by commas")
    .optional(),
  WEB_CONCURRENCY: intFrom(1, 64).default(1),
  SPYGLASS_WEB_DIR: z.string().min(1).optional(),
  RETENTION_DAYS: intFrom(1, 36_500).optional(),
  METRICS_PORT: intFrom(1, 65535).optional(),
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
}).refine((c) => c.WEB_CONCURRENCY === 1 || c.DATABASE_URL !== undefined, {
  path: ["WEB_CONCURRENCY"],
  message: "more than one server process needs DATABASE_URL (the embedded database belongs to one process)",
}).refine((c) => c.METRICS_PORT === undefined || c.METRICS_PORT !== c.PORT, {
  path: ["METRICS_PORT"],
  message: "must differ from PORT (metrics are not served on the API's port)",
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // An empty variable means "not set", as in most twelve-factor servers.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in ConfigSchema.shape && value !== undefined && value !== ""),
  );
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "config");
    const value = present[name];
    const shown = name === "DATABASE_URL" || name === "SPYGLASS_ADMIN_TOKEN" ? "" : ` (got ${JSON.stringify(value)})`;
    return `invalid configuration: ${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(lines.join("\n"));
}

export function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
