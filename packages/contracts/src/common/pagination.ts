import { z } from "../zod.js";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export const PaginationSchema = z
  .object({
    item_count: z.number().int(),
    item_start: z.number().int(),
    item_end: z.number().int(),
    page_index: z.number().int(),
    page_offset: z.number().int(),
    page_size: z.number().int(),
    page_count: z.number().int(),
    next_page_offset: z.number().int().nullable(),
    previous_page_offset: z.number().int().nullable(),
  })
  .openapi("Pagination");
export type Pagination = z.infer<typeof PaginationSchema>;

export const SortingSchema = z
  .object({ field: z.string(), direction: z.enum(["asc", "desc"]) })
  .openapi("Sorting");
export type Sorting = z.infer<typeof SortingSchema>;

const intString = (min: number, max: number) =>
  z.coerce.number().int(`must be an integer`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** Query parameters every Prefactor list accepts (bracketed keys are parsed as nested objects). */
export const ListQuerySchema = z.object({
  pagination: z
    .object({
      offset: intString(0, 1_000_000_000).optional(),
      page_size: intString(1, MAX_PAGE_SIZE).optional(),
    })
    .strict()
    .optional(),
  sorting: z
    .union([
      z.string().max(100),
      z.object({ field: z.string().max(100), direction: z.enum(["asc", "desc"]).optional() }).strict(),
    ])
    .optional(),
});

/** How the list parameters appear in the OpenAPI document (as flat, bracketed names). */
export const ListQueryDocSchema = z.object({
  "pagination[offset]": z.number().int().min(0).optional().openapi({ description: "0-based offset" }),
  "pagination[page_size]": z.number().int().min(1).max(MAX_PAGE_SIZE).optional().openapi({ description: "1..100, default 25" }),
  sorting: z.string().optional().openapi({ description: "`field` (ascending) or `-field` (descending)" }),
});

export function listEnvelope<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      status: z.literal("success"),
      summaries: z.array(item),
      pagination: PaginationSchema,
      sorting: SortingSchema.nullable(),
    })
    .openapi(name);
}

export function detailsEnvelope<T extends z.ZodType>(item: T, name: string) {
  return z.object({ status: z.literal("success"), details: item }).openapi(name);
}
