import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { errorStatus, type AvError, type ErrorEnvelope } from "@spyglass/contracts";
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
  const status = e.status ?? e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new AppError("bad_request", status === 400 && e.message?.startsWith("Failed to decode") ? "malformed URL" : "bad request");
  }
  req.log?.error({ err }, "unexpected error");
  return new AppError("unexpected", `unexpected server error; quote request id ${String(req.id ?? "")} when reporting it`);
}

function statusOf(error: AppError): number {
  return error.details.status ?? errorStatus[error.code];
}

function prepare(res: Response, error: AppError): number {
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
  res.status(prepare(res, error)).json(prefactorEnvelope(error));
};

/** The AgentVista dialect's one error mapper. */
export const agentvistaErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const error = toAppError(err, req);
  res.status(prepare(res, error)).json(agentvistaBody(error));
};

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new AppError("not_found", `no route for ${req.method} ${req.path}`));
};
