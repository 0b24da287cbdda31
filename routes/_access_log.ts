/**
 * The first middleware of every request: its request id (the client's
 * `X-Request-Id` when well-formed, else a new UUID), echoed on the response
 * and carried by every log line written while it runs; then one access log
 * line and the HTTP metrics once it is answered.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { log, logContext, withLogContext } from "../core/logger.ts";
import { metrics } from "../core/ops/metrics.ts";
import { activeSpan } from "../core/ops/otel.ts";
import type { AppEnv } from "./_deps.ts";

/** What a client may send as `X-Request-Id`. */
export const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The route label of a request no operation matched (never the raw path: it would let clients mint labels). */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The request-id, access-log and HTTP-metrics middleware.
 *
 * @returns The middleware.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", requestId);
    await withLogContext({ request_id: requestId }, async () => {
      try {
        await next();
      } finally {
        stampRequestId(c, requestId);
        const seconds = (performance.now() - started) / 1000;
        const route = routeOf(c);
        const status = c.res.status;
        const span = activeSpan();
        span?.updateName(`${c.req.method} ${route}`);
        span?.setAttribute("http.route", route);
        metrics.httpRequest({ route, method: c.req.method, status }, seconds);
        const { plugin, node } = logContext();
        log.info("request", {
          method: c.req.method,
          route,
          status,
          duration_ms: Math.round(seconds * 100_000) / 100,
          token: tokenKind(c.get("access")),
          ...(plugin !== undefined ? { plugin, node } : {}),
        });
      }
    });
  };
}

/**
 * Puts the id on the response, once it is made: setting it before the handler ran would give every response a
 * `Headers` object of its own to copy (Hono's prepared headers), where most set theirs in `Response`'s init.
 */
function stampRequestId(c: Parameters<MiddlewareHandler<AppEnv>>[0], requestId: string): void {
  try {
    c.res.headers.set("x-request-id", requestId);
  } catch {
    c.res = new Response(c.res.body, c.res); // a response with immutable headers
    c.res.headers.set("x-request-id", requestId);
  }
}

function routeOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const route = routePath(c, -1);
  return route === "/*" || route === "*" || route === "" ? UNMATCHED_ROUTE : route;
}

function tokenKind(access: AppEnv["Variables"]["access"] | undefined): "admin" | "read" | "none" {
  return access === "admin" || access === "read" ? access : "none";
}
