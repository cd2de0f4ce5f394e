import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";
import { buildOpenApiDocument } from "@spyglass/contracts";
import { DOCS_CSP, routeCsp } from "./security-headers.js";

// The assets' folder only: the package's main module evaluates the whole 1.5 MB UI bundle in Node,
// which cost the server tens of MB of memory for nothing.
const swaggerAssets = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

const committedSpec = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../openapi/openapi.json");

// The page and its initializer are our own files so that nothing is loaded from a CDN and no
// inline script is needed; the assets come from swagger-ui-dist, served by this process.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Spyglass API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
// persistAuthorization stays off: it would keep bearer tokens in localStorage, where any script
// on this origin could read them long after the tab is closed.
const init = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: false });\n`;

/** GET /openapi.json (the committed spec) and GET /docs (an interactive reference rendered from it). */
export function docsRouter(): Router {
  const spec = existsSync(committedSpec) ? readFileSync(committedSpec, "utf8") : JSON.stringify(buildOpenApiDocument(), null, 2);
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(spec);
  });
  router.use(["/docs", "/docs/"], routeCsp(DOCS_CSP));
  router.get(["/docs", "/docs/"], (_req, res) => {
    res.type("html").send(page);
  });
  router.get("/docs/init.js", (_req, res) => {
    res.type("application/javascript").send(init);
  });
  router.use("/docs/assets", express.static(swaggerAssets, { index: false, maxAge: "1h" }));
  return router;
}
