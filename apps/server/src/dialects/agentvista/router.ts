import { Router } from "express";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { agentvistaErrorHandler, routeNotFound } from "../../http/errors.js";
import { ingress } from "../../http/ingress.js";
import { registerAgentRoutes } from "./agents.js";
import { registerApiKeyRoutes } from "./api-keys.js";
import { registerTraceRoutes } from "./traces.js";

/** The AgentVista dialect's paths (trailing slashes optional, as Express routes are non-strict). */
export const AGENTVISTA_PREFIXES = ["/traces", "/dashboard", "/agents", "/me"];

const isAgentvistaPath = (path: string) => AGENTVISTA_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));

export function agentvistaRouter(services: Services, config: Config): Router {
  const av = Router();
  av.use(ingress(services, config));

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
