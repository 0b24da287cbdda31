/**
 * Console sessions: the token an operator signs in with, sealed into a
 * cookie with the service's keyring (AES-256-GCM, context `ui/session`), so
 * any replica holding the same `IMBI_ENCRYPTION_KEYS` reads it and no
 * session table is shared. The cookie is HttpOnly, SameSite=Strict, scoped
 * to `/ui`, Secure when the request came over TLS, and expires after
 * {@linkcode SESSION_TTL_MS} (the sealed expiry is checked too, so a kept
 * cookie is refused after it).
 *
 * Writes are guarded twice: the Origin (or `Sec-Fetch-Site`) must be this
 * host, and the form must carry the session's own CSRF token.
 *
 * @module
 */

import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Keyring } from "../../core/crypto.ts";

/** How long a console session lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** The session cookie's name. */
export const SESSION_COOKIE = "imbi_session";

const CONTEXT = "ui/session";

/** A signed-in operator. */
export interface Session {
  /** The bearer token the console calls the API with. */
  token: string;
  /** What the token may do. */
  access: "admin" | "read";
  /** The CSRF token every form of this session carries. */
  csrf: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

/**
 * Seals a new session into the response's cookie.
 *
 * @param c The request context.
 * @param keyring The service's keyring.
 * @param grant The token and its access level.
 * @returns The session written.
 */
export async function startSession(
  c: Context,
  keyring: Keyring,
  grant: { token: string; access: Session["access"]; now: number },
): Promise<Session> {
  const session: Session = {
    token: grant.token,
    access: grant.access,
    csrf: crypto.randomUUID(),
    exp: grant.now + SESSION_TTL_MS,
  };
  setCookie(c, SESSION_COOKIE, await keyring.encrypt(JSON.stringify(session), CONTEXT), {
    path: "/ui",
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c),
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
  return session;
}

/**
 * Reads the request's session.
 *
 * @param c The request context.
 * @param keyring The service's keyring.
 * @param now The current time, epoch milliseconds.
 * @returns The session, or undefined when there is none, it does not authenticate, or it expired.
 */
export async function readSession(c: Context, keyring: Keyring, now: number): Promise<Session | undefined> {
  const sealed = getCookie(c, SESSION_COOKIE);
  if (!sealed) return undefined;
  try {
    const session = JSON.parse(await keyring.decrypt(sealed, CONTEXT)) as Session;
    return typeof session.exp === "number" && session.exp > now ? session : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Clears the session cookie.
 *
 * @param c The request context.
 */
export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/ui", secure: overTls(c), httpOnly: true, sameSite: "Strict" });
}

/**
 * Whether a state-changing request comes from this site: its `Origin` names
 * this host, or (without one) `Sec-Fetch-Site` says same-origin.
 *
 * @param c The request context.
 * @returns True when the request may change state.
 */
export function sameOrigin(c: Context): boolean {
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  const origin = c.req.header("origin");
  if (origin) {
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  return c.req.header("sec-fetch-site") === "same-origin";
}
