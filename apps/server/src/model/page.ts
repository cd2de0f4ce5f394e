// Types every layer may see (dialects, domain, repositories): nothing here imports a layer.

export interface Page {
  offset: number;
  pageSize: number;
}
