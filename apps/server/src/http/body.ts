import { isUtf8 } from "node:buffer";
import express, { type RequestHandler } from "express";
import { AppError } from "../domain/shared/app-error.js";

/**
 * Deepest nesting of objects and arrays a request body may have. Generous for real payloads
 * (serde_json's default), shallow enough that nothing recursive downstream — zod, JSON.stringify,
 * Ajv, PostgreSQL's jsonb parser — can run out of stack.
 */
export const MAX_JSON_DEPTH = 128;

const REPLACEMENT = "\\ufffd";

function hex4(text: string, at: number): number {
  if (at + 4 > text.length) return -1;
  const digits = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(digits) ? parseInt(digits, 16) : -1;
}

/**
 * One pass over JSON text, before JSON.parse: rejects nesting deeper than `maxDepth`, and replaces
 * the two escapes that are valid JSON but cannot be stored in PostgreSQL text or jsonb —
 * `\u0000` and unpaired surrogates — by `\ufffd`, so an odd byte in a tool's output costs one
 * character instead of the whole request. Malformed text is left for JSON.parse to reject.
 */
export function checkJsonText(text: string, maxDepth = MAX_JSON_DEPTH): string {
  let depth = 0;
  let parts: string[] | null = null;
  let copiedUpTo = 0;
  // Inside strings (most of a body's bytes: payloads) the scan jumps from one quote or backslash to
  // the next with indexOf, which runs natively; only structure is looked at character by character.
  let nextBackslash = text.indexOf("\\");
  if (nextBackslash === -1) nextBackslash = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string starts at i: find its closing quote, handling the escapes on the way.
      let at = i + 1;
      for (;;) {
        let quote = text.indexOf('"', at);
        if (quote === -1) quote = text.length;
        if (nextBackslash < at) {
          nextBackslash = text.indexOf("\\", at);
          if (nextBackslash === -1) nextBackslash = text.length;
        }
        // (Both at the end: an unterminated string, which JSON.parse will reject.)
        if (quote <= nextBackslash) {
          i = quote;
          break;
        }
        // An escape at `b`: \uXXXX may need replacing; any other escape is two characters.
        const b = nextBackslash;
        if (text.charCodeAt(b + 1) !== 0x75) {
          at = b + 2;
          continue;
        }
        const code = hex4(text, b + 2);
        let length = 6;
        let unstorable = code === 0 || (code >= 0xdc00 && code <= 0xdfff);
        if (code >= 0xd800 && code <= 0xdbff) {
          const low = text.charCodeAt(b + 6) === 0x5c && text.charCodeAt(b + 7) === 0x75 ? hex4(text, b + 8) : -1;
          if (low >= 0xdc00 && low <= 0xdfff) length = 12;
          else unstorable = true;
        }
        if (unstorable) {
          (parts ??= []).push(text.slice(copiedUpTo, b), REPLACEMENT);
          copiedUpTo = b + 6;
          length = 6;
        }
        at = b + length;
      }
      if (i >= text.length) break;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new AppError("bad_request", `request body nests deeper than ${maxDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  if (!parts) return text;
  parts.push(text.slice(copiedUpTo));
  return parts.join("");
}

function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? "");
  return match?.[1]?.toLowerCase();
}

/**
 * Parses the body as JSON when the request says it is (Content-Type: application/json), like
 * express.json, but stricter where express.json is lenient or fragile: the bytes must be UTF-8
 * (RFC 8259; express.json silently substitutes invalid bytes), the top level must be an object or
 * an array, and the depth is bounded. Other content types leave req.body undefined, so handlers
 * answer them as a missing body. Size limits, compression and aborted uploads are body-parser's.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const readRaw = express.raw({ type: "application/json", limit: limitBytes });
  const parse: RequestHandler = (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) {
      next();
      return;
    }
    const raw: Buffer = req.body;
    req.body = undefined;
    const charset = charsetOf(req.headers["content-type"]);
    if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
      throw new AppError("bad_request", "request bodies must be UTF-8 JSON");
    }
    if (!isUtf8(raw)) throw new AppError("bad_request", "request body is not valid UTF-8");
    let text = raw.toString("utf8");
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const start = /\S/.exec(text);
    if (!start) {
      // express.json's behaviour for an empty JSON body, kept so clients see no difference.
      req.body = {};
      next();
      return;
    }
    if (start[0] !== "{" && start[0] !== "[") throw new AppError("bad_request", "request body must be a JSON object or array");
    const checked = checkJsonText(text);
    try {
      req.body = JSON.parse(checked);
    } catch {
      throw new AppError("bad_request", "malformed JSON in request body");
    }
    next();
  };
  return [readRaw, parse];
}
