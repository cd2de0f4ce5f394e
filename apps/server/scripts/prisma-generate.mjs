// Runs `prisma generate` offline. Prisma 7's generated client needs no native engine, but the CLI
// insists that a schema-engine binary exists before generating (it never runs it), and would
// otherwise try to download one. Pointing it at any existing file satisfies that check.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);
const result = spawnSync("prisma", ["generate", "--schema", "prisma/schema.prisma"], {
  stdio: "inherit",
  shell: process.platform === "win32",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? here,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
process.exit(result.status ?? 1);
