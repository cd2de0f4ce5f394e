import { isUtf8 } from "node:buffer";
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from "express";
import { OtlpExportTraceServiceResponseSchema, OtlpStatusSchema } from "@spyglass/contracts";
import type { Config } from "../../config.js";
import { requireScope } from "../../domain/accounts/service.js";
import { AppError } from "../../domain/shared/app-error.js";
import { authenticate } from "../../http/auth.js";
import { checkJsonText } from "../../http/body.js";
import { authOf } from "../../http/context.js";
import { prepareError, toAppError } from "../../http/errors.js";
import { refuseWritesWithoutSpace } from "../../http/ingress.js";
import { rateLimit } from "../../http/rate-limit.js";
import type { Services } from "../../services.js";
import { decodeJson, decodeProtobuf, encodeResponse, encodeStatus, type Encoding } from "./wire.js";

/** The OTLP default path (so OTEL_EXPORTER_OTLP_ENDPOINT=http://host:port works) and AgentVista's. */
export const OTLP_TRACE_PATHS = ["/v1/traces", "/api/v1/otlp/v1/traces"];

const CONTENT_TYPES: Record<string, Encoding> = { "application/x-protobuf": "protobuf", "application/json": "json" };

function encodingOf(req: Request): Encoding | null {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  return CONTENT_TYPES[type] ?? null;
}

/** Errors answer in the request's encoding; JSON when it has none we speak. */
const answerEncoding = (req: Request): Encoding => encodingOf(req) ?? "json";

/** The gRPC code a google.rpc.Status carries for an HTTP status (OTLP/HTTP mirrors OTLP/gRPC). */
function grpcCode(status: number): number {
  switch (status) {
    case 400:
    case 415:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 5; // NOT_FOUND
    case 413:
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    default:
      return status >= 500 ? 13 : 2; // INTERNAL, UNKNOWN
  }
}

function send(res: Response, encoding: Encoding, status: number, body: Buffer | object): void {
  res.status(status);
  if (Buffer.isBuffer(body)) res.type("application/x-protobuf").send(body);
  else res.json(body);
}

/** The OTLP dialect's one error mapper: a google.rpc.Status in the request's encoding. */
const otlpErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const error = toAppError(err, req);
  const status = prepareError(res, error);
  const encoding = answerEncoding(req);
  send(res, encoding, status, encodeStatus(encoding, OtlpStatusSchema.parse({ code: grpcCode(status), message: error.message })));
};

/** Before the body is read: only the two encodings, plain or gzip. */
const acceptedBody: RequestHandler = (req, _res, next) => {
  if (!encodingOf(req)) {
    throw new AppError("bad_request", "Content-Type must be application/x-protobuf or application/json", { status: 415 });
  }
  const coding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (coding !== "identity" && coding !== "gzip") {
    throw new AppError("bad_request", "Content-Encoding must be gzip or none", { status: 415 });
  }
  next();
};

function parseJson(raw: Buffer): unknown {
  if (!isUtf8(raw)) throw new AppError("bad_request", "request body is not valid UTF-8");
  try {
    return JSON.parse(checkJsonText(raw.toString("utf8")));
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("bad_request", "malformed JSON in request body");
  }
}

export function otlpRouter(services: Services, config: Config): Router {
  const router = Router();
  const handlers: RequestHandler[] = [
    // Who is asking is settled from the headers, before any byte of the body is read or inflated.
    authenticate(services.accounts, { failures: services.authFailures }),
    rateLimit(services.rateLimiter),
    (req, _res, next) => {
      requireScope(authOf(req), "write");
      next();
    },
    refuseWritesWithoutSpace(services),
    acceptedBody,
    // body-parser inflates gzip as it reads and counts the inflated bytes against the limit, so a
    // gzip bomb is cut off at the limit instead of being inflated whole.
    express.raw({ type: () => true, limit: config.JSON_BODY_LIMIT_BYTES, inflate: true }),
    async (req, res) => {
      const encoding = encodingOf(req)!;
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const spans = encoding === "protobuf" ? decodeProtobuf(raw) : decodeJson(raw.length === 0 ? {} : parseJson(raw));
      const outcome = await services.traceIngest.ingestOtel(authOf(req), spans);
      const response = OtlpExportTraceServiceResponseSchema.parse(
        outcome.rejectedSpans > 0
          ? { partialSuccess: { rejectedSpans: String(outcome.rejectedSpans), errorMessage: outcome.messages.join("; ").slice(0, 4096) } }
          : {},
      );
      send(res, encoding, 200, encodeResponse(encoding, response));
    },
  ];
  for (const path of OTLP_TRACE_PATHS) router.post(path, ...handlers);
  // Errors of these paths only: a Router's error handler also sees every other path's errors.
  router.use(OTLP_TRACE_PATHS, otlpErrorHandler);
  return router;
}
