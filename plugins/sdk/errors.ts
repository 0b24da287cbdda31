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

/**
 * Base class of the typed failures below: its subclass gives the `kind` and
 * the message used when none is given.
 */
export abstract class HandlerError extends PluginError {
  /**
   * Makes the failure of the subclass's kind.
   *
   * @param message Shown to the user: never put a credential in it. Defaults to the subclass's message.
   * @param options `cause`, and `retryAfter` in seconds.
   */
  constructor(message?: string, options: PluginErrorOptions = {}) {
    const [kind, fallback] = defaultsOf(new.target);
    super(kind, message ?? fallback, options);
  }
}

/** The backend refused the credentials; the message defaults to "The backend rejected the credentials". */
export class CredentialsRejected extends HandlerError {}

/** The thing asked for does not exist in the backend; the message defaults to "Not found". */
export class NotFound extends HandlerError {}

/** The backend throttled the call; `retryAfter` seconds until it may succeed. The message defaults to "Rate limited by the backend". */
export class RateLimited extends HandlerError {}

/** The backend is down or answered with a server error; the message defaults to "The backend is unavailable". */
export class UpstreamUnavailable extends HandlerError {}

/** A cursor is stale or belongs to another query; the message defaults to "The cursor has expired or belongs to another query". */
export class CursorExpired extends HandlerError {}

/** The input is not acceptable to the backend (bad key, bad data type); the message defaults to "Invalid input". */
export class InvalidInput extends HandlerError {}

/** Each typed failure's kind and default message. */
const DEFAULTS = new Map<abstract new (...args: never[]) => HandlerError, readonly [HandlerErrorKind, string]>([
  [CredentialsRejected, ["credentials_rejected", "The backend rejected the credentials"]],
  [NotFound, ["not_found", "Not found"]],
  [RateLimited, ["rate_limited", "Rate limited by the backend"]],
  [UpstreamUnavailable, ["upstream_unavailable", "The backend is unavailable"]],
  [CursorExpired, ["cursor_expired", "The cursor has expired or belongs to another query"]],
  [InvalidInput, ["invalid_input", "Invalid input"]],
]);

/** The kind and default message of a typed failure's class, or of the one it extends (a plugin's own subclass). */
function defaultsOf(target: abstract new (...args: never[]) => HandlerError): readonly [HandlerErrorKind, string] {
  for (let c: unknown = target; c !== HandlerError && typeof c === "function"; c = Object.getPrototypeOf(c)) {
    const found = DEFAULTS.get(c as typeof target);
    if (found) return found;
  }
  throw new TypeError(`${target.name} extends none of the typed handler failures`);
}
