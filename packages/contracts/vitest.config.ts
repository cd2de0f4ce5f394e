import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@spyglass/source"] },
  test: { include: ["src/**/*.test.ts"] },
});
