import type { Request } from "express";
import type { AuthContext } from "../domain/accounts/service.js";
import { AppError } from "../domain/shared/app-error.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: AuthContext;
    }
  }
}

export function authOf(req: Request): AuthContext {
  if (!req.auth) throw new AppError("not_authenticated", "missing bearer token: send Authorization: Bearer <token>");
  return req.auth;
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : "";
}
