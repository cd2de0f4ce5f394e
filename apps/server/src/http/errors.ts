import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { errorStatus, type AvError, type ErrorEnvelope } from "@spyglass/contracts";
import { isTransientDatabaseError, RETRY_AFTER_SECONDS } from "../db/transient.js";
import { AppError } from "../domain/shared/app-error.js";

/** Anything thrown while handling a request, as an AppError. Unknown errors are logged, never shown. */
export function toAppError(err: unknown, req: Request): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number };
  switch (e.type) {
    case "entity.parse.failed":
      return new AppError("bad_request", "malformed JSON in request body");
    case "entity.too.large":
      return new AppError("payload_too_large", `request body exceeds the limit of ${e.limit} bytes`);
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("bad_request", "unsupported content encoding or charset");
    case "request.aborted":
    case "request.size.invalid":
      return new AppError("bad_request", "request body was incomplete");
  }
  if (isDataException(err)) {
    req.log?.warn({ err }, "the database refused a value from the request");
    return new AppError("invalid_value", "a value in the request cannot be stored (out of range, too long or an invalid character)");
  }
  if (isTransientDatabaseError(err)) return databaseUnavailable(err, req);
  const status = e.status ?? e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new AppError("bad_request", status === 400 && e.message?.startsWith("Failed to decode") ? "malformed URL" : "bad request");
  }
  req.log?.error({ err }, "unexpected error");
  return new AppError("unexpected", `unexpected server error; quote request id ${String(req.id ?? "")} when reporting it`);
}

/**
 * The database could not serve the request but will: the client should send the same request
 * again. Logged here, once per request (with its id, by req.log); the request line that follows
 * is not an error line (see requestLogger).
 */
export function databaseUnavailable(err: unknown, req: Request): AppError {
  req.log?.warn({ err }, "database unavailable");
  return new AppError("unavailable", `the database is unavailable; retry later (request id ${String(req.id ?? "")})`, {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22: numeric or datetime out of range, invalid byte
 * sequence, string too long, ...) and Prisma's equivalents are caused by a value the client sent
 * that a route let through: a 400, not a server fault.
 */
function isDataException(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } };
  if (e?.name !== "PrismaClientKnownRequestError") return false;
  const cause = e.meta?.driverAdapterError?.cause;
  const sqlstate = cause?.originalCode ?? cause?.code;
  if (typeof sqlstate === "string" && /^22[0-9A-Z]{3}$/.test(sqlstate)) return true;
  return e.code === "P2000" || e.code === "P2020" || e.code === "P2033";
}

function statusOf(error: AppError): number {
  return error.details.status ?? errorStatus[error.code];
}

/** Sets the headers an error carries (Retry-After) and returns its HTTP status. */
export function prepareError(res: Response, error: AppError): number {
  if (error.details.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(error.details.retryAfterSeconds));
  return statusOf(error);
}

export function prefactorEnvelope(error: AppError): ErrorEnvelope {
  const body: ErrorEnvelope = { status: "error", code: error.code, message: error.message };
  if (error.details.fields?.length) {
    body.errors = Object.fromEntries(
      error.details.fields.map((f) => [f.path, { status: "error" as const, code: f.code ?? error.code, message: f.message }]),
    );
  }
  if (error.details.control) body.control = error.details.control;
  return body;
}

export function agentvistaBody(error: AppError): AvError {
  const body: AvError = { detail: error.message };
  if (error.details.fields?.length) body.errors = error.details.fields.map((f) => ({ path: f.path, message: f.message }));
  return body;
}

/** The Prefactor dialect's one error mapper. */
export const prefactorErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const error = toAppError(err, req);
  res.status(prepareError(res, error)).json(prefactorEnvelope(error));
};

/** The AgentVista dialect's one error mapper. */
export const agentvistaErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const error = toAppError(err, req);
  res.status(prepareError(res, error)).json(agentvistaBody(error));
};

export const routeNotFound: RequestHandler = (req, _res, next) => {
  const path = req.originalUrl.split("?")[0]!;
  next(new AppError("not_found", `no route for ${req.method} ${path.length > 200 ? `${path.slice(0, 200)}...` : path}`));
};
