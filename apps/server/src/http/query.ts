import type { Express } from "express";

type Query = Record<string, unknown>;

function withoutPrototypeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototypeKeys);
  if (!value || typeof value !== "object") return value;
  const out: Query = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(key in Object.prototype)) out[key] = withoutPrototypeKeys(v);
  }
  return out;
}

/**
 * Bracketed query strings (`pagination[offset]=0`, as Prefactor clients send) through Express's
 * "extended" parser — which is qs with allowPrototypes: true, so `?toString=x` or
 * `?hasOwnProperty=x` would shadow Object.prototype's methods on req.query and make an innocent
 * `String(req.query.x)` or `req.query.hasOwnProperty(...)` throw. Such keys are dropped, as qs
 * itself does by default.
 */
export function useQueryParser(app: Express): void {
  app.set("query parser", "extended");
  const extended = app.get("query parser fn") as (query: string) => Query;
  app.set("query parser", (query: string) => withoutPrototypeKeys(extended(query)));
}
