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

/** Kinds a handler may signal. */
export type HandlerErrorKind =
  | "credentials_rejected"
  | "not_found"
  | "rate_limited"
  | "upstream_unavailable"
  | "cursor_expired"
  | "invalid_input";

/** Base class of every typed handler failure. */
export class PluginError extends Error {
  readonly kind: HandlerErrorKind;
  /** Seconds until a retry may succeed, where the backend said. */
  readonly retryAfter: number | undefined;
  constructor(kind: HandlerErrorKind, message: string, options: ErrorOptions & { retryAfter?: number } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.retryAfter = options.retryAfter;
  }
}

/** The backend refused the credentials. */
export class CredentialsRejected extends PluginError {
  constructor(message = "The backend rejected the credentials", options?: ErrorOptions) {
    super("credentials_rejected", message, options);
  }
}

/** The thing asked for does not exist in the backend. */
export class NotFound extends PluginError {
  constructor(message = "Not found", options?: ErrorOptions) {
    super("not_found", message, options);
  }
}

/** The backend throttled the call; `retryAfter` seconds until it may succeed. */
export class RateLimited extends PluginError {
  constructor(message = "Rate limited by the backend", options: ErrorOptions & { retryAfter?: number } = {}) {
    super("rate_limited", message, options);
  }
}

/** The backend is down or answered with a server error. */
export class UpstreamUnavailable extends PluginError {
  constructor(message = "The backend is unavailable", options?: ErrorOptions) {
    super("upstream_unavailable", message, options);
  }
}

/** A cursor is stale or belongs to another query. */
export class CursorExpired extends PluginError {
  constructor(message = "The cursor has expired or belongs to another query", options?: ErrorOptions) {
    super("cursor_expired", message, options);
  }
}

/** The input is not acceptable to the backend (bad key, bad data type). */
export class InvalidInput extends PluginError {
  constructor(message = "Invalid input", options?: ErrorOptions) {
    super("invalid_input", message, options);
  }
}
