import type { z } from "zod";
import { AppError, type FieldProblem } from "../domain/shared/app-error.js";

function issuePath(prefix: string, path: PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter(Boolean).join(".");
}

/**
 * Parses `value` with `schema`; on failure throws 400 naming every offending field.
 * A missing required field is `required_value`, anything else `invalid_value`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const fields: FieldProblem[] = result.error.issues.slice(0, 50).map((issue) => {
    const missing = issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined;
    const path = issuePath(prefix, issue.path);
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown field(s): ${(issue as { keys: string[] }).keys.join(", ")}`
        : missing
          ? "is required"
          : issue.message;
    const keys = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys : [];
    const where = keys.length === 1 ? [path, keys[0]].filter(Boolean).join(".") : path;
    return { path: where || "body", message, code: missing ? "required_value" : "invalid_value" };
  });
  const first = fields[0]!;
  const code = fields.every((f) => f.code === "required_value") ? "required_value" : "invalid_value";
  const summary = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  throw new AppError(code, summary.length > 1000 ? `${first.path}: ${first.message} (and ${fields.length - 1} more)` : summary, { fields });
}
