import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@spyglass/source"] },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
