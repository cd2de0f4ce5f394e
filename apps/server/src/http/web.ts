import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type RequestHandler } from "express";
import { routeCsp, type CspDirectives } from "./security-headers.js";

/** Where `pnpm --filter @spyglass/web build` writes the dashboard (same place from src/ and dist/). */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../web/dist");

// Deployments are often air-gapped and the dashboard handles tokens: everything from this origin,
// no inline script or style, never framed.
export const DASHBOARD_CSP: CspDirectives = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "frame-ancestors": ["'none'"],
  "base-uri": ["'none'"],
  "form-action": ["'self'"],
};

/** Paths the single-page app never answers: they keep their own 404s (JSON for the API). */
const NOT_CLIENT_ROUTES = /^\/(api|docs|healthz|readyz|openapi\.json|v1)(\/|$)/;

const MISSING = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spyglass</title></head>
<body><h1>Spyglass</h1>
<p>The API is running, but the dashboard has not been built. Run <code>pnpm start</code> (or
<code>pnpm --filter @spyglass/web build</code>) from the repository, then reload.</p>
<p>API reference: <a href="/docs">/docs</a></p></body></html>
`;

/**
 * The dashboard: hashed assets cached for a year (their names change with their content),
 * index.html never cached (so a deploy is picked up at once), and index.html for every other GET
 * so client routes such as /runs/:id survive a reload. Without a build, / explains how to make one.
 */
export function webRouter(webDir: string): Router {
  const router = Router();
  // The dashboard's CSP only on what the dashboard serves: a request that falls through (an unknown
  // path asked for as JSON) keeps the API's.
  const csp = routeCsp(DASHBOARD_CSP);
  const indexFile = path.join(webDir, "index.html");
  const built = existsSync(indexFile);
  const index = built ? readFileSync(indexFile, "utf8") : MISSING;

  const assets = express.static(path.join(webDir, "assets"), { index: false, immutable: true, maxAge: "365d" });
  router.use("/assets", csp, assets, (_req, res) => {
    res.status(404).type("text").send("no such asset\n");
  });
  const page: RequestHandler = (req, res, next) => {
    if (NOT_CLIENT_ROUTES.test(req.path) || !req.accepts("html")) return next();
    csp(req, res, () => {
      res.setHeader("Cache-Control", "no-cache");
      res.type("html").send(index);
    });
  };
  router.get("/index.html", page);
  // Top-level files (the favicon): short-lived, as their names carry no hash.
  router.use(express.static(webDir, { index: false, maxAge: "1h" }));
  router.get(/.*/, page);
  return router;
}
