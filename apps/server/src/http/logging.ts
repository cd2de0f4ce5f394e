import { randomUUID } from "node:crypto";
import { IncomingMessage, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { pino, type DestinationStream, type Logger } from "pino";

/** The server's logger; `destination` defaults to stdout (tests pass an in-memory stream). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "spyglass" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: the request serializer below never logs headers, but nothing that looks
    // like a credential may reach the log even if a caller logs a request object itself.
    redact: { paths: ["req.headers.authorization", "headers.authorization", "authorization", "token", "key"], censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module "node:http" {
  interface IncomingMessage {
    /** The request id: the client's X-Request-Id when well-formed, else a UUID; echoed back. */
    id: string;
    /** A logger that tags each line with the request (method, path, id); set by requestLogger. */
    log: Logger;
  }
}

/** What a log line says of a request. Never headers: query strings are dropped too (a careless client could put a secret there). */
function describe(req: IncomingMessage & { originalUrl?: string }) {
  const url = req.originalUrl ?? req.url ?? "";
  const query = url.indexOf("?");
  return {
    id: req.id,
    method: req.method,
    path: query === -1 ? url : url.slice(0, query),
    // Informational only (Prefactor SDKs name themselves); bounded so a client cannot flood the log.
    sdk: (req.headers["x-prefactor-sdk"] as string | undefined)?.slice(0, 200),
  };
}

const BASE = Symbol("spyglass.logger");
const CHILD = Symbol("spyglass.requestLogger");
type Tagged = IncomingMessage & { [BASE]?: Logger; [CHILD]?: Logger };

// `req.log`, made when first used (most requests never log through it); defined once on the
// prototype: defining it on each request would turn every request object into a slow dictionary.
Object.defineProperty(IncomingMessage.prototype, "log", {
  configurable: true,
  get(this: Tagged) {
    // Undefined on a request that never passed requestLogger (no app builds one without it).
    return (this[CHILD] ??= this[BASE]?.child({ req: describe(this) }));
  },
  set(this: Tagged, value: Logger) {
    this[CHILD] = value;
  },
});

/**
 * One structured line per request ("request completed", "request aborted", or "request errored"
 * at error level for a 5xx), with a request id echoed as X-Request-Id, and `req.log` for lines a
 * handler writes. Costs next to nothing when the line's level is off: pino-http built a child
 * logger per request whether or not it logged (~0.1 ms of CPU per request here, a third of a
 * trivial request's cost).
 */
export function requestLogger(logger: Logger) {
  return (req: Tagged, res: ServerResponse, next: () => void) => {
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    req.id = id;
    req[BASE] = logger;
    res.setHeader("X-Request-Id", id);
    const started = performance.now();
    // "close" follows "finish" on every response, and comes alone when the client went away first.
    res.once("close", () => {
      // A 503 is the database's outage, already logged with its cause (http/errors.ts): an error
      // line per request on top would bury that cause during an outage.
      const failed = res.statusCode >= 500 && res.statusCode !== 503;
      if (!logger.isLevelEnabled(failed ? "error" : "info")) return;
      const fields = { res: { status: res.statusCode }, responseTime: Math.round(performance.now() - started) };
      if (failed) req.log.error({ ...fields, err: new Error(`failed with status code ${res.statusCode}`) }, "request errored");
      else req.log.info(fields, res.writableFinished ? "request completed" : "request aborted");
    });
    next();
  };
}
