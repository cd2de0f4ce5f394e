import express, { type RequestHandler } from "express";

class NulCharacterError extends SyntaxError {}

/**
 * JSON bodies for both dialects. PostgreSQL cannot store U+0000 in text or jsonb, so such input is
 * refused at parse time (400) instead of failing deep in the database.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({
    limit: limitBytes,
    reviver(key, value) {
      if (key.includes("\u0000") || (typeof value === "string" && value.includes("\u0000"))) {
        throw new NulCharacterError("strings must not contain the NUL character (\\u0000)");
      }
      return value;
    },
  });
}
