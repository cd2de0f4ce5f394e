import type { RequestHandler } from "express";
import helmet, { contentSecurityPolicy } from "helmet";

/** CSP directives, kebab-case, each a list of sources ("'self'", "data:", ...). */
export type CspDirectives = Record<string, string[]>;

/** API responses are data, never a document: nothing may load, run or frame them. */
export const API_CSP: CspDirectives = { "default-src": ["'none'"], "frame-ancestors": ["'none'"] };

/** /docs: its own same-origin script and styles (no inline code), the spec and try-it-out calls to this origin. */
export const DOCS_CSP: CspDirectives = {
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "font-src": ["'self'"],
  "connect-src": ["'self'"],
  "frame-ancestors": ["'none'"],
  "base-uri": ["'none'"],
  "form-action": ["'none'"],
};

/**
 * Security headers on every response, through helmet: nosniff, a CSP (API_CSP unless a route sets
 * its own with routeCsp), X-Frame-Options DENY, Referrer-Policy no-referrer, and helmet's other
 * defaults (cross-origin isolation headers, X-DNS-Prefetch-Control, ...). Mounted first, so error
 * answers carry them too. Strict-Transport-Security is left to whatever terminates TLS: Spyglass
 * itself serves plain HTTP, and HSTS pinned on a host by a development server is hard to undo.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    strictTransportSecurity: false,
  });
}

/** Replaces the CSP for the routes it is mounted on (pages: /docs, the dashboard). */
export function routeCsp(directives: CspDirectives): RequestHandler {
  return contentSecurityPolicy({ useDefaults: false, directives });
}
