/**
 * `createApp`: request ids and the access log, bearer-token auth, every resource's routes, the
 * 404/405 answers and the one error mapping.
 *
 * @module
 */

import { Hono } from "hono";
import { accessLog } from "./_access_log.ts";
import { authenticate, authorize } from "./_auth.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { declaredOperations, type Operation } from "./_openapi.ts";
import { errorToResponse, problemResponse, PROBLEMS } from "./_problem.ts";
import { adminAuditRoutes } from "./admin_audit.ts";
import { adminCredentialRoutes } from "./admin_credentials.ts";
import { adminPluginRoutes } from "./admin_plugins.ts";
import { adminReplicaRoutes } from "./admin_replicas.ts";
import { bindingRoutes } from "./bindings.ts";
import { docsRoutes } from "./docs.tsx";
import { operationRoutes } from "./operations.ts";
import { orgRoutes } from "./orgs.ts";
import { projectRoutes } from "./projects.ts";
import { projectTabRoutes } from "./project_tabs.ts";
import { projectTypeRoutes } from "./project_types.ts";
import { serviceRoutes } from "./third_party_services.ts";
import { consoleRoutes } from "./ui/mod.tsx";

/**
 * Builds the HTTP application. Every request gets a request id and has its
 * bearer token checked; each operation then enforces the auth level it
 * declares. The operator console (`/ui/`, session cookies) and the API
 * documentation (`/docs`) are served beside the API. A request no operation matches needs a valid token (unless its
 * path is one of the public probes') and is answered 405 when its path is
 * declared for another method, 404 otherwise.
 *
 * @param deps Stores, runtime, tokens and clock.
 * @returns The Hono app; serve `app.fetch`.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  let operations: readonly Operation[] = [];

  app.use(accessLog());
  app.use(authenticate(deps.tokens));

  app.route("/", operationRoutes(deps, { operations: () => operations }));
  for (
    const routes of [
      orgRoutes,
      projectTypeRoutes,
      projectRoutes,
      serviceRoutes,
      bindingRoutes,
      projectTabRoutes,
      adminPluginRoutes,
      adminCredentialRoutes,
      adminAuditRoutes,
      adminReplicaRoutes,
    ]
  ) {
    app.route("/", routes(deps));
  }
  operations = declaredOperations(app);
  app.route("/", docsRoutes());
  app.route(
    "/",
    consoleRoutes({
      keyring: deps.keyring,
      fetch: (request) => app.fetch(request),
      operations: () => operations,
      clock: deps.clock,
    }),
  );

  const declaredPaths = operations.map((op) => ({
    pattern: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    auth: op.auth,
  }));
  app.notFound((c) => {
    const path = c.req.path;
    const atPath = declaredPaths.filter((p) => p.pattern.test(path));
    const refused = authorize(c, atPath.length > 0 && atPath.every((p) => p.auth === "none") ? "none" : "read");
    if (refused) return refused;
    return atPath.length > 0
      ? problemResponse({ ...PROBLEMS.methodNotAllowed, detail: `${c.req.method} is not supported on ${path}` })
      : problemResponse({ ...PROBLEMS.notFound, detail: `No route for ${path}` });
  });
  app.onError((error, c) => errorToResponse(error, c));
  return app;
}
