/**
 * The one place errors become HTTP responses: RFC 9457 problem+json with
 * `type`, `title`, `status`, `detail` and, for validation, `errors` with JSON
 * pointers. 5xx bodies never carry internal messages.
 *
 * @module
 */

import type { Context } from "hono";
import {
  BadRequestError,
  ConflictError,
  type FieldError,
  NotFoundError,
  PackageError,
  PluginCallError,
  type PluginErrorKind,
  PreconditionFailedError,
  UnavailableError,
  ValidationError,
} from "../core/errors.ts";
import { DecryptionError } from "../core/crypto.ts";
import { log } from "../core/logger.ts";
import type { AppEnv } from "./_deps.ts";

/** An RFC 9457 problem document. */
export interface Problem {
  /** A slug under `https://imbi.dev/problems/`, or a full URI. */
  type: string;
  /** The same for every problem of the type. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** What went wrong this time. */
  detail: string;
  /** One entry per bad field, with its JSON pointer. */
  errors?: FieldError[];
  /** Extension members. */
  [extra: string]: unknown;
}

const TYPE_BASE = "https://imbi.dev/problems/";

const PLUGIN_STATUS: Record<PluginErrorKind, { status: number; title: string }> = {
  credentials_rejected: { status: 502, title: "The plugin's backend rejected the credentials" },
  not_found: { status: 404, title: "Not found in the plugin's backend" },
  rate_limited: { status: 503, title: "The plugin's backend is rate limiting" },
  upstream_unavailable: { status: 502, title: "The plugin's backend failed" },
  cursor_expired: { status: 409, title: "The cursor has expired" },
  invalid_input: { status: 422, title: "The plugin refused the input" },
  timeout: { status: 504, title: "The plugin overran its deadline" },
  crashed: { status: 503, title: "The plugin is not available" },
  memory: { status: 503, title: "The plugin exceeded its memory limit" },
  saturated: { status: 503, title: "The plugin is busy" },
  protocol: { status: 502, title: "The plugin broke its protocol" },
  too_large: { status: 502, title: "The plugin's answer is too large" },
  internal: { status: 502, title: "The plugin failed" },
  egress_denied: { status: 403, title: "The egress policy denies one of the plugin's network hosts" },
};

const PACKAGE_STATUS: Record<PackageError["kind"], number> = {
  already_installed: 409,
  not_installed: 404,
  in_use: 409,
  refused: 422,
  too_young: 422,
  permissions_not_accepted: 422,
  registry: 502,
};

/**
 * The problems a request itself causes: type, title and status. Route code
 * adds the `detail`.
 */
export const PROBLEMS = {
  badRequest: { type: "bad-request", title: "Bad request", status: 400 },
  unauthorized: { type: "unauthorized", title: "Unauthorized", status: 401 },
  forbidden: { type: "forbidden", title: "Forbidden", status: 403 },
  notFound: { type: "not-found", title: "Not found", status: 404 },
  methodNotAllowed: { type: "method-not-allowed", title: "Method not allowed", status: 405 },
  conflict: { type: "conflict", title: "Conflict", status: 409 },
  preconditionFailed: { type: "precondition-failed", title: "Precondition failed", status: 412 },
  payloadTooLarge: { type: "payload-too-large", title: "Request body too large", status: 413 },
  unsupportedMediaType: { type: "unsupported-media-type", title: "Unsupported media type", status: 415 },
  validation: { type: "validation", title: "Validation failed", status: 422 },
} satisfies Record<string, Omit<Problem, "detail">>;

/**
 * Builds a problem response.
 *
 * @param problem The document; `type` may be a short slug.
 * @param headers Extra headers (Retry-After, WWW-Authenticate).
 * @returns The response.
 */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  const type = problem.type.startsWith("http") || problem.type === "about:blank"
    ? problem.type
    : TYPE_BASE + problem.type;
  return new Response(JSON.stringify({ ...problem, type }), {
    status: problem.status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/**
 * Maps any thrown value to a problem response (Hono's `onError`).
 *
 * @param error What was thrown.
 * @param c The request context, for the request id.
 * @returns The response.
 */
export function errorToResponse(error: unknown, c: Context<AppEnv>): Response {
  const requestId: string | undefined = c.get("requestId");
  if (error instanceof ValidationError) {
    return problemResponse({ ...PROBLEMS.validation, detail: error.message, errors: error.errors });
  }
  if (error instanceof BadRequestError) {
    const errors = error.errors.length > 0 ? { errors: error.errors } : {};
    return problemResponse({ ...PROBLEMS.badRequest, detail: error.message, ...errors, ...error.extra });
  }
  if (error instanceof NotFoundError) return problemResponse({ ...PROBLEMS.notFound, detail: error.message });
  if (error instanceof ConflictError) {
    return problemResponse({ ...PROBLEMS.conflict, detail: error.message, ...error.extra });
  }
  if (error instanceof PreconditionFailedError) {
    return problemResponse({ ...PROBLEMS.preconditionFailed, detail: error.message });
  }
  if (error instanceof UnavailableError) {
    log.warn("unavailable", { detail: error.message });
    return problemResponse(
      { type: "unavailable", title: "Service unavailable", status: 503, detail: error.message },
      { "retry-after": String(error.retryAfterSeconds) },
    );
  }
  if (error instanceof PluginCallError) {
    const { status, title } = PLUGIN_STATUS[error.kind];
    log.warn("plugin call failed", { kind: error.kind, message: error.message });
    const detail = error.kind === "internal"
      ? "The plugin raised an unexpected error; see the service log."
      : error.message;
    const headers: Record<string, string> = {};
    if (status === 503 || error.retryAfterSeconds !== undefined) {
      headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1)));
    }
    return problemResponse({ type: `plugin-${error.kind.replaceAll("_", "-")}`, title, status, detail }, headers);
  }
  if (error instanceof PackageError) {
    const status = PACKAGE_STATUS[error.kind];
    return problemResponse({
      type: `package-${error.kind.replaceAll("_", "-")}`,
      title: status === 502 ? "The package registry failed" : "Package refused",
      status,
      detail: error.message,
      ...error.extra,
    });
  }
  if (error instanceof DecryptionError) {
    log.error("credential decryption failed", { kid: error.kid });
    return problemResponse({
      type: "credentials-unreadable",
      title: "Stored credentials cannot be decrypted",
      status: 500,
      detail: "The stored credentials cannot be decrypted with the configured keys; see the service log.",
    });
  }
  log.error("unhandled error", {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return problemResponse({
    type: "internal",
    title: "Internal server error",
    status: 500,
    detail: `Something went wrong; quote request id ${requestId ?? "unknown"} when reporting it.`,
  });
}
