import type { Db } from "../../repositories/types.js";

/**
 * The transaction a write runs in, as the dialects hand it from one service call to the next
 * (the idempotency service opens it). Opaque to them: only repositories use it.
 */
export type Transaction = Db;
