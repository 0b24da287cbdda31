/**
 * Bearer-token auth. {@linkcode authenticate} checks the token of every
 * request once; {@linkcode authorize} then holds it against the level an
 * operation declares (`routes/_openapi.ts` calls it first thing in every
 * route), so the declaration is what is enforced.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Access, AppDeps, AppEnv } from "./_deps.ts";
import { problemResponse, PROBLEMS } from "./_problem.ts";

/**
 * Who may call an operation: the admin token only, any token (the admin
 * token or a read-only one), or anyone (the probes and `/openapi.json`).
 */
export type AuthLevel = "admin" | "read" | "none";

/**
 * Whether `presented` is `known`, in a time that depends on `known`'s length only: every UTF-16 code unit of the
 * known token is compared whatever the presented one holds, so neither where they differ nor how long the presented
 * one is shows. (A hash per request, synchronous or not, cost more than the rest of a cached tab answer's auth:
 * bench/report.ts; so did encoding the token to bytes first.)
 */
function sameToken(presented: string, known: string): boolean {
  const length = presented.length;
  let diff = length ^ known.length;
  // Never past the presented token's end: charCodeAt's NaN there would make V8 drop this loop's optimised code.
  for (let i = 0; i < known.length; i++) diff |= known.charCodeAt(i) ^ (i < length ? presented.charCodeAt(i) : 0);
  return diff === 0;
}

/**
 * Checks the request's bearer token (in constant time) and records how it
 * checked out as `access`, and for a valid token who it is as `actor`
 * (`admin` or `read:<n>`). Refuses nothing itself.
 *
 * @param tokens The admin token and the read-only tokens.
 * @returns The middleware.
 */
export function authenticate(tokens: AppDeps["tokens"]): MiddlewareHandler<AppEnv> {
  const admin = tokens.admin;
  const readers = tokens.read;
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    let access: Access = "missing";
    if (match) {
      const presented = match[1]!;
      const readIndex = readers.findIndex((known) => sameToken(presented, known));
      if (sameToken(presented, admin)) {
        access = "admin";
        c.set("actor", "admin");
      } else if (readIndex >= 0) {
        access = "read";
        c.set("actor", `read:${readIndex}`);
      } else {
        access = "invalid";
      }
    }
    c.set("access", access);
    await next();
  };
}

const CHALLENGE = { "www-authenticate": 'Bearer realm="imbi"' };

/**
 * Holds the request's token against an auth level.
 *
 * @param c The request context, after {@linkcode authenticate}.
 * @param level What the operation declares.
 * @returns A 401 or 403 problem response, or undefined when the request may go on.
 */
export function authorize(c: Context<AppEnv>, level: AuthLevel): Response | undefined {
  if (level === "none") return undefined;
  const access = c.get("access");
  if (access === "missing" || access === "invalid") {
    const detail = access === "missing"
      ? "Send a bearer token: Authorization: Bearer <token>"
      : "The bearer token is not valid";
    return problemResponse({ ...PROBLEMS.unauthorized, detail }, CHALLENGE);
  }
  if (level === "admin" && access !== "admin") {
    const detail = "This token may only read; writes and /admin need the admin token";
    return problemResponse({ ...PROBLEMS.forbidden, detail });
  }
  return undefined;
}
