/**
 * Why telemetry did not go as planned, handed to the `onError` hook (never thrown into the agent).
 * - `config`: the SDK is not configured (no base URL) and records nothing;
 * - `network`: the server could not be reached (the request will be retried);
 * - `http`: the server answered 429 or 5xx (the request will be retried);
 * - `rejected`: the server refused an item (it is not retried);
 * - `internal`: a bug in the SDK, contained.
 */
export type SpyglassErrorKind = "config" | "network" | "http" | "rejected" | "internal";

export class SpyglassError extends Error {
  readonly kind: SpyglassErrorKind;
  readonly status?: number;
  readonly code?: string;
  /** The server's answer, when there was one. */
  readonly body?: unknown;
  /** The queued work concerned, when one item was. */
  readonly item?: unknown;

  constructor(kind: SpyglassErrorKind, message: string, extra: { status?: number; code?: string; body?: unknown; item?: unknown; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "SpyglassError";
    this.kind = kind;
    this.status = extra.status;
    this.code = extra.code;
    this.body = extra.body;
    this.item = extra.item;
  }
}
