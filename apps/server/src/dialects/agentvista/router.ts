import { Router } from "express";
import { jsonBody } from "../../http/body.js";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { authenticate } from "../../http/auth.js";
import { agentvistaErrorHandler, routeNotFound } from "../../http/errors.js";

/** The AgentVista dialect's paths (trailing slashes optional, as Express routes are non-strict). */
export const AGENTVISTA_PREFIXES = ["/traces", "/dashboard", "/agents", "/me"];

export function agentvistaRouter(services: Services, config: Config): Router {
  const av = Router();
  av.use(jsonBody(config.JSON_BODY_LIMIT_BYTES));
  av.use(authenticate(services.accounts));

  // Routes are registered here by the AgentVista modules.

  av.use(routeNotFound);
  av.use(agentvistaErrorHandler);

  const router = Router();
  router.use(AGENTVISTA_PREFIXES, av);
  return router;
}
