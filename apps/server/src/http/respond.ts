import type { Response } from "express";
import type { z } from "zod";

/**
 * Sends `body` after passing it through the contract's response schema, so what the server sends
 * is what openapi.json promises.
 */
export function respond<S extends z.ZodType>(res: Response, status: number, schema: S, body: z.input<S>): void {
  res.status(status).json(schema.parse(body));
}
