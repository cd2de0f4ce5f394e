import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `pnpm dev`: the UI with hot reload on :5173, the API proxied to the server on :3000.
const api = process.env.SPYGLASS_API ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  // Read the client package from its TypeScript source: no build step needed before the UI's.
  resolve: { conditions: ["@spyglass/source"] },
  server: {
    proxy: {
      "/api": api,
      "/openapi.json": api,
      "/docs": api,
      "/healthz": api,
    },
  },
  build: {
    outDir: "dist",
    // Served with CSP script-src 'self': no inlined module preload polyfill or data: URLs for scripts.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
