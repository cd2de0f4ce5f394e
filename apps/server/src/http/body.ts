import express, { type RequestHandler } from "express";

/** JSON bodies for both dialects, bounded by the configured size. */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes });
}
