import { Liquid, type Template } from "liquidjs";

export const MAX_SUMMARY_LENGTH = 1000;

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
  memoryLimit: 10_000_000,
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
    const out = liquid.renderSync(template, context);
    const text = typeof out === "string" ? out.trim() : String(out);
    return text.length > MAX_SUMMARY_LENGTH ? `${text.slice(0, MAX_SUMMARY_LENGTH - 1)}…` : text;
  } catch {
    return null;
  }
}
