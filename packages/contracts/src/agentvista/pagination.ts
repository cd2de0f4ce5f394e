import { z } from "../zod.js";

/** An integer in a query string (query values always arrive as text). */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected an integer between ${min} and ${max}`).max(max, `expected an integer between ${min} and ${max}`))
    .openapi({ type: "integer", minimum: min, maximum: max });

export const AV_MAX_PAGE_SIZE = 100;

/** `page` (1-based) and `page_size` (1..100, default 20) of every AgentVista list. */
export const AvPageQuerySchema = z.object({
  page: queryInt(1, 1_000_000).optional().openapi({ description: "1-based page number (default 1)" }),
  page_size: queryInt(1, AV_MAX_PAGE_SIZE).optional().openapi({ description: "items per page, 1..100 (default 20)" }),
});

/** AgentVista's list envelope. */
export function avPage<T extends z.ZodType>(item: T) {
  return z.object({
    results: z.array(item),
    total: z.number().int().nonnegative(),
    page: z.number().int().positive(),
    page_size: z.number().int().positive(),
    has_next: z.boolean(),
  });
}
