import { Router } from "express";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { agentvistaErrorHandler, routeNotFound } from "../../http/errors.js";
import { ingress } from "../../http/ingress.js";

/** The AgentVista dialect's paths (trailing slashes optional, as Express routes are non-strict). */
export const AGENTVISTA_PREFIXES = ["/traces", "/dashboard", "/agents", "/me"];

export function agentvistaRouter(services: Services, config: Config): Router {
  const av = Router();
  av.use(ingress(services, config));

  // Routes are registered here by the AgentVista modules.

  av.use(routeNotFound);
  av.use(agentvistaErrorHandler);

  const router = Router();
  router.use(AGENTVISTA_PREFIXES, av);
  return router;
}
