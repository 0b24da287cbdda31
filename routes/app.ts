/**
 * `createApp`: mounts every route file, bearer-token auth, request ids, and
 * the one error mapping.
 *
 * @module
 */

import { Hono } from "hono";
import { errorToResponse, problemResponse } from "./_problem.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { declaredOperations } from "./_openapi.ts";
import { adminCredentialRoutes } from "./admin_credentials.ts";
import { adminPluginRoutes } from "./admin_plugins.ts";
import { bindingRoutes } from "./bindings.ts";
import { operationRoutes } from "./operations.ts";
import { orgRoutes } from "./orgs.ts";
import { projectRoutes } from "./projects.ts";
import { projectTabRoutes } from "./project_tabs.ts";
import { projectTypeRoutes } from "./project_types.ts";
import { serviceRoutes } from "./third_party_services.ts";

const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

const PUBLIC_PATHS = new Set(["/healthz", "/readyz", "/openapi.json"]);
const READ_METHODS = new Set(["GET", "HEAD"]);

/**
 * Whether a request is a read that a read-only token may make: GETs outside
 * `/admin`, and asking for configuration values.
 */
function isRead(method: string, path: string): boolean {
  if (path.startsWith("/admin")) return false;
  if (READ_METHODS.has(method)) return true;
  return method === "POST" && /\/configuration\/values$/.test(path);
}

/**
 * Builds the HTTP application.
 *
 * @param deps Stores, runtime, tokens and clock.
 * @returns The Hono app; serve `app.fetch`.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const adminDigest = digest(deps.tokens.admin);
  const readDigests = Promise.all(deps.tokens.read.map(digest));

  app.use(async (c, next) => {
    const given = c.req.header("x-request-id");
    const requestId = given && /^[A-Za-z0-9._-]{1,128}$/.test(given) ? given : crypto.randomUUID();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    await next();
  });

  app.use(async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return await next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const challenge = { "www-authenticate": 'Bearer realm="imbi"' };
    if (!match) {
      return problemResponse({
        type: "unauthorized",
        title: "Unauthorized",
        status: 401,
        detail: "Send a bearer token: Authorization: Bearer <token>",
      }, challenge);
    }
    const presented = await digest(match[1]!);
    if (sameBytes(presented, await adminDigest)) {
      c.set("actor", "admin");
      return await next();
    }
    const readIndex = (await readDigests).findIndex((d) => sameBytes(presented, d));
    if (readIndex < 0) {
      return problemResponse(
        { type: "unauthorized", title: "Unauthorized", status: 401, detail: "The bearer token is not valid" },
        challenge,
      );
    }
    c.set("actor", `read:${readIndex}`);
    if (!isRead(c.req.method, c.req.path)) {
      return problemResponse({
        type: "forbidden",
        title: "Forbidden",
        status: 403,
        detail: "This token may only read; writes and /admin need the admin token",
      });
    }
    return await next();
  });

  for (
    const routes of [
      operationRoutes,
      orgRoutes,
      projectTypeRoutes,
      projectRoutes,
      serviceRoutes,
      bindingRoutes,
      projectTabRoutes,
      adminPluginRoutes,
      adminCredentialRoutes,
    ]
  ) {
    app.route("/", routes(deps));
  }

  app.notFound((c) => {
    const path = c.req.path;
    const known = declaredOperations().some((op) =>
      new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path)
    );
    return known
      ? problemResponse({
        type: "method-not-allowed",
        title: "Method not allowed",
        status: 405,
        detail: `${c.req.method} is not supported on ${path}`,
      })
      : problemResponse({ type: "not-found", title: "Not found", status: 404, detail: `No route for ${path}` });
  });
  app.onError((error, c) => errorToResponse(error, c));
  return app;
}
