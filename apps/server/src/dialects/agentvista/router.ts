import { Router, type RequestHandler } from "express";
import { jsonBody } from "../../http/body.js";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { AppError } from "../../domain/shared/app-error.js";
import { jsonProblem } from "../../domain/traces/normalize.js";
import { authenticate } from "../../http/auth.js";
import { agentvistaErrorHandler, routeNotFound } from "../../http/errors.js";
import { registerAgentRoutes } from "./agents.js";
import { registerApiKeyRoutes } from "./api-keys.js";
import { registerTraceRoutes } from "./traces.js";

/** The AgentVista dialect's paths (trailing slashes optional, as Express routes are non-strict). */
export const AGENTVISTA_PREFIXES = ["/traces", "/dashboard", "/agents", "/me"];

const isAgentvistaPath = (path: string) => AGENTVISTA_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));

/**
 * Input PostgreSQL cannot store (U+0000) or that is nested without bound is refused up front, so
 * it never turns into a database error. The batch body is checked per trace instead (one bad
 * trace must not reject the others).
 */
const storableInput: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.originalUrl)) throw new AppError("bad_request", "the URL must not contain NUL (%00) characters");
  const problem = jsonProblem(req.query) ?? (req.path.startsWith("/traces/batch") ? null : jsonProblem(req.body));
  if (problem) throw new AppError("bad_request", problem);
  next();
};

export function agentvistaRouter(services: Services, config: Config): Router {
  const av = Router();
  av.use(jsonBody(config.JSON_BODY_LIMIT_BYTES));
  av.use(authenticate(services.accounts));
  av.use(storableInput);

  registerTraceRoutes(av, services);
  registerAgentRoutes(av, services);
  registerApiKeyRoutes(av, services);

  av.use(routeNotFound);
  av.use(agentvistaErrorHandler);

  // Mounted without stripping the prefix, so every route above reads as its full path.
  const router = Router();
  router.use((req, res, next) => (isAgentvistaPath(req.path) ? av(req, res, next) : next()));
  return router;
}
