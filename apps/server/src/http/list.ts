import type { Request } from "express";
import { DEFAULT_PAGE_SIZE, ListQuerySchema, type Pagination, type Sorting } from "@spyglass/contracts";
import type { z } from "zod";
import { AppError } from "../domain/shared/app-error.js";
import type { Page } from "../model/page.js";
import { parseInput } from "./validation.js";

export interface ListParams<F extends string> {
  page: Page;
  sort: { field: F; direction: "asc" | "desc" };
  /** Echoed in the response: null when the client did not ask for a sort. */
  sorting: Sorting | null;
}

/**
 * Parses `pagination[offset]`, `pagination[page_size]` and `sorting` (`-field`, `field`, or
 * `sorting[field]=&sorting[direction]=`) plus the endpoint's own filters, rejecting unknown
 * parameters so that a typo in a filter is not silently ignored.
 */
export function parseList<F extends string, Q extends z.ZodObject>(
  req: Request,
  sortable: readonly F[],
  defaultSort: { field: F; direction: "asc" | "desc" },
  filters?: Q,
): ListParams<F> & { filters: z.output<Q> } {
  const { pagination, sorting, ...rest } = req.query as Record<string, unknown>;
  const base = parseInput(ListQuerySchema, { pagination, sorting }, "query");
  const parsedFilters = (filters ? parseInput(filters.strict(), rest, "query") : parseInput(ListQuerySchema.pick({}).strict(), rest, "query")) as z.output<Q>;
  let sort = defaultSort;
  let echo: Sorting | null = null;
  if (base.sorting !== undefined) {
    const raw = typeof base.sorting === "string" ? base.sorting : base.sorting.field;
    const descending = typeof base.sorting === "string" ? raw.startsWith("-") : base.sorting.direction === "desc";
    const field = typeof base.sorting === "string" ? raw.replace(/^[-+]/, "") : raw;
    if (!(sortable as readonly string[]).includes(field)) {
      throw new AppError("invalid_value", `query.sorting: unknown sort field '${field}'; one of ${sortable.join(", ")}`, {
        fields: [{ path: "query.sorting", message: `unknown sort field '${field}'` }],
      });
    }
    sort = { field: field as F, direction: descending ? "desc" : "asc" };
    echo = { field, direction: sort.direction };
  }
  return {
    page: { offset: base.pagination?.offset ?? 0, pageSize: base.pagination?.page_size ?? DEFAULT_PAGE_SIZE },
    sort,
    sorting: echo,
    filters: parsedFilters,
  };
}

/**
 * The list's figures. Past the end the page is empty: item_start = item_end = 0, page_index is
 * the page asked for (at or beyond page_count), no next page, and the previous page is the last
 * one that has items.
 */
export function paginationOf(page: Page, itemCount: number, returned: number): Pagination {
  const { offset, pageSize } = page;
  const pageCount = Math.ceil(itemCount / pageSize);
  const pastEnd = returned === 0 && offset > 0 && offset >= itemCount;
  const previous = offset === 0 ? null : pastEnd ? Math.max(0, (pageCount - 1) * pageSize) : Math.max(0, offset - pageSize);
  // From what was returned, not the page size: a page cut short by LIST_BYTE_BUDGET continues where it stopped.
  const next = returned > 0 && offset + returned < itemCount ? offset + returned : null;
  return {
    item_count: itemCount,
    item_start: returned ? offset + 1 : 0,
    item_end: returned ? offset + returned : 0,
    page_index: Math.floor(offset / pageSize),
    page_offset: offset,
    page_size: pageSize,
    page_count: pageCount,
    next_page_offset: next,
    previous_page_offset: previous,
  };
}
