// Types every layer may see (dialects, domain, repositories): nothing here imports a layer.

export interface Page {
  offset: number;
  pageSize: number;
}

/**
 * Lists that return large JSON whole stop early once a page reaches about this many bytes; the
 * pagination then points at the first item left out.
 */
export const LIST_BYTE_BUDGET = 4 * 1024 * 1024;
