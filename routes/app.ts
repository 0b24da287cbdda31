/**
 * `createApp`: request ids and the access log, bearer-token auth, every resource's routes, the
 * 404/405 answers and the one error mapping.
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { accessLog } from "./_access_log.ts";
import { authenticate, authorize } from "./_auth.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { declaredOperations, openApiPath, type Operation } from "./_openapi.ts";
import { errorToResponse, problemResponse, PROBLEMS } from "./_problem.ts";
import { adminAuditRoutes } from "./admin_audit.ts";
import { adminCredentialRoutes } from "./admin_credentials.ts";
import { adminPluginRoutes } from "./admin_plugins.ts";
import { adminReplicaRoutes } from "./admin_replicas.ts";
import { bindingRoutes } from "./bindings.ts";
import { docsRoutes } from "./docs.ts";
import { operationRoutes } from "./operations.ts";
import { orgRoutes } from "./orgs.ts";
import { projectRoutes } from "./projects.ts";
import { projectTabRoutes } from "./project_tabs.ts";
import { projectTypeRoutes } from "./project_types.ts";
import { serviceRoutes } from "./third_party_services.ts";
import { consoleRoutes } from "./ui/mod.ts";

/** The body limit when `AppDeps.maxBodyBytes` is not given: 1 MiB, the default of `IMBI_MAX_BODY_BYTES`. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * A Hono route path as a regular expression over the decoded request path,
 * with each parameter's own constraint (`:package{.+}` takes `.+`, which,
 * like Hono's router, matches no CR or LF), so a path Hono's router cannot
 * match is never taken for one it routes with another method.
 */
function routePattern(path: string): RegExp {
  const source = path.split(/(:[A-Za-z0-9_]+(?:\{[^/]*\})?)/).map((part) => {
    const param = /^:[A-Za-z0-9_]+(?:\{([^/]*)\})?$/.exec(part);
    if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return param[1] ? `(?:${param[1]})` : "[^/]+";
  }).join("");
  return new RegExp(`^${source}$`);
}

/**
 * Builds the HTTP application. Every request gets a request id and has its
 * bearer token checked; each operation then enforces the auth level it
 * declares. The operator console (`/ui/`, session cookies) and the API
 * documentation (`/docs`) are served beside the API. A body longer than
 * `maxBodyBytes` is refused with 413 before it is read: at once when its
 * Content-Length says so, else as soon as the bytes counted pass the limit.
 * A request no operation matches needs a valid token (unless its path is one
 * of the public probes') and is answered 405 with `Allow` when its path is
 * declared for other methods, 404 otherwise.
 *
 * @param deps Stores, runtime, tokens and clock.
 * @returns The Hono app; serve `app.fetch`.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  let operations: readonly Operation[] = [];

  app.use(accessLog());
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.use(bodyLimit({
    maxSize: maxBytes,
    onError: () =>
      problemResponse({
        ...PROBLEMS.payloadTooLarge,
        detail: `The request body is larger than ${maxBytes} bytes (IMBI_MAX_BODY_BYTES)`,
      }, { connection: "close" }),
  }));
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

  const declaredRoutes = app.routes.flatMap((r) => {
    const declared = operations.find((op) => op.method === r.method.toLowerCase() && op.path === openApiPath(r.path));
    if (!declared) return [];
    return [{
      pattern: routePattern(r.path),
      params: r.path.split(":").length - 1,
      method: r.method.toUpperCase(),
      auth: declared.auth,
    }];
  });
  app.notFound((c) => {
    const path = c.req.path;
    const matching = declaredRoutes.filter((p) => p.pattern.test(path));
    // As in OpenAPI, a path that matches a template with fewer parameters belongs to it (`/admin/plugins/history`).
    const fewest = Math.min(...matching.map((p) => p.params));
    const atPath = matching.filter((p) => p.params === fewest);
    const refused = authorize(c, atPath.length > 0 && atPath.every((p) => p.auth === "none") ? "none" : "read");
    if (refused) return refused;
    if (atPath.length === 0) return problemResponse({ ...PROBLEMS.notFound, detail: `No route for ${path}` });
    const methods = new Set(atPath.map((p) => p.method));
    if (methods.has("GET")) methods.add("HEAD");
    const allow = [...methods].sort().join(", ");
    return problemResponse(
      { ...PROBLEMS.methodNotAllowed, detail: `${c.req.method} is not supported on ${path}; it supports ${allow}` },
      { allow },
    );
  });
  app.onError((error, c) => errorToResponse(error, c));
  return app;
}
