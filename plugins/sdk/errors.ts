/**
 * The typed failures a handler may throw (spec section 2.2). The host maps
 * each `kind` to an HTTP status; any other thrown value is an internal error
 * whose message is not shown to users.
 *
 * Errors cross the sandbox boundary as `{kind, message, retry_after}`, so the
 * host recognises them by their `kind` field, not by class identity.
 *
 * @module
 */

/** Every kind a handler may signal, in the order of the spec. The host imports this list. */
export const HANDLER_ERROR_KINDS = [
  "credentials_rejected",
  "not_found",
  "rate_limited",
  "upstream_unavailable",
  "cursor_expired",
  "invalid_input",
] as const;

/** Kinds a handler may signal. */
export type HandlerErrorKind = (typeof HANDLER_ERROR_KINDS)[number];

/**
 * Whether a value is one of the {@linkcode HANDLER_ERROR_KINDS}: the host's
 * test for a `kind` that crossed the wire.
 *
 * @param value Anything, e.g. the `kind` field of a thrown value.
 * @returns True for a handler error kind.
 */
export function isHandlerErrorKind(value: unknown): value is HandlerErrorKind {
  return (HANDLER_ERROR_KINDS as readonly unknown[]).includes(value);
}

/** Options of every typed handler failure. */
export interface PluginErrorOptions extends ErrorOptions {
  /** Seconds until a retry may succeed, where the backend said. */
  retryAfter?: number;
}

/** Base class of every typed handler failure. */
export class PluginError extends Error {
  /** What went wrong, as the host maps it to an HTTP status. */
  readonly kind: HandlerErrorKind;
  /** Seconds until a retry may succeed, where the backend said. */
  readonly retryAfter: number | undefined;

  /**
   * Makes a typed failure; the subclasses below fill in `kind`.
   *
   * @param kind What went wrong.
   * @param message Shown to the user: never put a credential in it.
   * @param options `cause`, and `retryAfter` in seconds.
   */
  constructor(kind: HandlerErrorKind, message: string, options: PluginErrorOptions = {}) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.retryAfter = options.retryAfter;
  }
}

/** The backend refused the credentials. */
export class CredentialsRejected extends PluginError {
  /** Makes the failure; the message defaults to "The backend rejected the credentials". */
  constructor(message = "The backend rejected the credentials", options: PluginErrorOptions = {}) {
    super("credentials_rejected", message, options);
  }
}

/** The thing asked for does not exist in the backend. */
export class NotFound extends PluginError {
  /** Makes the failure; the message defaults to "Not found". */
  constructor(message = "Not found", options: PluginErrorOptions = {}) {
    super("not_found", message, options);
  }
}

/** The backend throttled the call; `retryAfter` seconds until it may succeed. */
export class RateLimited extends PluginError {
  /** Makes the failure; the message defaults to "Rate limited by the backend". */
  constructor(message = "Rate limited by the backend", options: PluginErrorOptions = {}) {
    super("rate_limited", message, options);
  }
}

/** The backend is down or answered with a server error. */
export class UpstreamUnavailable extends PluginError {
  /** Makes the failure; the message defaults to "The backend is unavailable". */
  constructor(message = "The backend is unavailable", options: PluginErrorOptions = {}) {
    super("upstream_unavailable", message, options);
  }
}

/** A cursor is stale or belongs to another query. */
export class CursorExpired extends PluginError {
  /** Makes the failure; the message defaults to "The cursor has expired or belongs to another query". */
  constructor(message = "The cursor has expired or belongs to another query", options: PluginErrorOptions = {}) {
    super("cursor_expired", message, options);
  }
}

/** The input is not acceptable to the backend (bad key, bad data type). */
export class InvalidInput extends PluginError {
  /** Makes the failure; the message defaults to "Invalid input". */
  constructor(message = "Invalid input", options: PluginErrorOptions = {}) {
    super("invalid_input", message, options);
  }
}
