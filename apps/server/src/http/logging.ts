import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino, type DestinationStream, type Logger } from "pino";
import { pinoHttp } from "pino-http";

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

/** Per-request structured log line with a request id (client-supplied X-Request-Id or a UUID), echoed back. */
export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel(_req, res, err) {
      if (err || res.statusCode >= 500) return "error";
      return "info";
    },
    serializers: {
      req(req: { id: string; method: string; url: string; headers: Record<string, string | undefined> }) {
        return {
          id: req.id,
          method: req.method,
          // Query strings are dropped: they are the one place a careless client could put a secret.
          path: req.url.split("?")[0],
          // Informational only (Prefactor SDKs name themselves); bounded so a client cannot flood the log.
          sdk: req.headers["x-prefactor-sdk"]?.slice(0, 200),
        };
      },
      res(res: { statusCode: number }) {
        return { status: res.statusCode };
      },
    },
  });
}
