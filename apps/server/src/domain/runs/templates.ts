import { Liquid, type Template } from "liquidjs";

export const MAX_SUMMARY_LENGTH = 1000;

/**
 * What a template sees of a payload: strings cut to their first 10,000 characters, arrays and
 * objects to their first 1,000 entries. One filter is a single step for renderLimit (which is
 * checked between template nodes), so `split: "" | sort` over a 3.9 MB string held the loop 2.4 s;
 * over what a template sees, a filter costs at most a few milliseconds, and memoryLimit (charged
 * with each filter's input size) bounds how many such steps one render takes.
 */
export const TEMPLATE_INPUT_LIMITS = { stringLength: 10_000, entries: 1_000 } as const;

function bounded(value: unknown): unknown {
  if (typeof value === "string") return value.length > TEMPLATE_INPUT_LIMITS.stringLength ? value.slice(0, TEMPLATE_INPUT_LIMITS.stringLength) : value;
  if (Array.isArray(value)) return value.slice(0, TEMPLATE_INPUT_LIMITS.entries).map(bounded);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++n > TEMPLATE_INPUT_LIMITS.entries) break;
    // defineProperty: a payload key "__proto__" stays a plain property.
    Object.defineProperty(out, key, { value: bounded((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// Templates come from clients, so rendering is sandboxed and bounded: no file system (an empty
// in-memory template map, so include/render/layout find nothing), own properties only (no
// prototype walking), and caps on template size, render time and allocations.
const liquid = new Liquid({
  templates: {},
  relativeReference: false,
  ownPropertyOnly: true,
  strictFilters: false,
  strictVariables: false,
  parseLimit: 20_000,
  renderLimit: 50,
  memoryLimit: 200_000,
  cache: false,
  // A leaf that is an object or an array renders empty; null and undefined render empty.
  outputEscape: (value: unknown) => (value === null || value === undefined || typeof value === "object" ? "" : String(value)),
});

for (const tag of ["include", "render", "layout", "block"]) {
  liquid.registerTag(tag, {
    parse() {
      throw new Error(`{% ${tag} %} is not allowed in span templates`);
    },
    render() {
      return "";
    },
  });
}

export type ParsedTemplate = Template[];

/** Parses once (per schema version); null when the template is invalid. */
export function parseTemplate(source: string): ParsedTemplate | null {
  try {
    return liquid.parse(source);
  } catch {
    return null;
  }
}

/** Renders a summary, or null when rendering fails or exceeds its bounds. */
export function renderSummary(template: ParsedTemplate, context: Record<string, unknown>): string | null {
  try {
    const out = liquid.renderSync(template, bounded(context) as Record<string, unknown>);
    const text = typeof out === "string" ? out.trim() : String(out);
    return text.length > MAX_SUMMARY_LENGTH ? `${text.slice(0, MAX_SUMMARY_LENGTH - 1)}…` : text;
  } catch {
    return null;
  }
}
