// Writes openapi/openapi.json from the contracts. `--check` exits 1 when the committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "../src/openapi.js";

const target = fileURLToPath(new URL("../../../openapi/openapi.json", import.meta.url));
const text = `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {
    // missing counts as drift
  }
  if (committed !== text) {
    console.error("openapi/openapi.json is out of date with packages/contracts: run `pnpm openapi:generate` and commit the result.");
    process.exit(1);
  }
  console.log("openapi/openapi.json is up to date");
} else {
  writeFileSync(target, text);
  console.log("wrote openapi/openapi.json");
}
