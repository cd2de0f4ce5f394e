import type { ErrorCode } from "@spyglass/contracts";

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. "details.payload.model". */
  path: string;
  message: string;
  code?: ErrorCode;
}

/**
 * The one error type services throw. Each dialect has one mapper that turns it into its envelope;
 * nothing else writes error responses.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: {
      fields?: FieldProblem[];
      control?: { terminate: boolean; reason: string | null };
      retryAfterSeconds?: number;
      /** Overrides the code's status where a dialect needs another (AgentVista 429 quota). */
      status?: number;
    } = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (what: string) => new AppError("not_found", `${what} not found`);
export const invalidAction = (message: string) => new AppError("invalid_action", message);
