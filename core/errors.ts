/**
 * Errors a caller branches on. Each maps to one HTTP status in
 * `routes/_problem.ts`; everything else is a 500 whose message never leaves
 * the service.
 *
 * @module
 */

import { HANDLER_ERROR_KINDS, type HandlerErrorKind } from "@imbi/plugin-sdk/errors";

/** The kinds a handler may signal: the SDK's, re-exported for `PluginErrorKind`. */
export { HANDLER_ERROR_KINDS, type HandlerErrorKind };

/** One bad field: a JSON pointer into the checked document and the rule it broke. */
export interface FieldError {
  /** JSON pointer (RFC 6901) of the bad field, `""` for the whole document. */
  pointer: string;
  /** What rule the value broke, readable by an operator. */
  message: string;
}

/** A request body or stored value failed validation (HTTP 422). */
export class ValidationError extends Error {
  /** Always `"ValidationError"`. */
  override name = "ValidationError";
  /** Every field that failed, with its pointer. */
  readonly errors: FieldError[];
  /**
   * Makes the failure.
   *
   * @param message What failed, readable by an operator.
   * @param errors Every field that failed.
   * @param options `cause`.
   */
  constructor(message: string, errors: FieldError[], options?: ErrorOptions) {
    super(message, options);
    this.errors = errors;
  }
}

/** The request itself is malformed or ambiguous (HTTP 400). */
export class BadRequestError extends Error {
  /** Always `"BadRequestError"`. */
  override name = "BadRequestError";
  /** The fields at fault, with their pointers; may be empty. */
  readonly errors: FieldError[];
  /** Extra members for the problem body, e.g. the candidate list. */
  readonly extra: Record<string, unknown>;
  /**
   * Makes the failure.
   *
   * @param message What is wrong with the request.
   * @param options `cause`, the fields at fault (`errors`) and `extra` members.
   */
  constructor(
    message: string,
    options: ErrorOptions & { errors?: FieldError[]; extra?: Record<string, unknown> } = {},
  ) {
    super(message, options);
    this.errors = options.errors ?? [];
    this.extra = options.extra ?? {};
  }
}

/** A named thing does not exist (HTTP 404). */
export class NotFoundError extends Error {
  /** Always `"NotFoundError"`. */
  override name = "NotFoundError";
}

/** The write conflicts with the current state (HTTP 409). */
export class ConflictError extends Error {
  /** Always `"ConflictError"`. */
  override name = "ConflictError";
  /** Extra members for the problem body, e.g. what holds the thing in use. */
  readonly extra: Record<string, unknown>;
  /**
   * Makes the failure.
   *
   * @param message What the write conflicts with.
   * @param options `cause` and `extra` members.
   */
  constructor(message: string, options: ErrorOptions & { extra?: Record<string, unknown> } = {}) {
    super(message, options);
    this.extra = options.extra ?? {};
  }
}

/**
 * A conditional write's precondition failed (HTTP 412): the resource's
 * current ETag is none of those the request's `If-Match` named, so it changed
 * since the caller read it.
 */
export class PreconditionFailedError extends Error {
  /** Always `"PreconditionFailedError"`. */
  override name = "PreconditionFailedError";
}

/** Something the request needs is down or busy (HTTP 503, with Retry-After). */
export class UnavailableError extends Error {
  /** Always `"UnavailableError"`. */
  override name = "UnavailableError";
  /** Seconds the caller should wait before trying again. */
  readonly retryAfterSeconds: number;
  /**
   * Makes the failure.
   *
   * @param message What is down or busy.
   * @param options `cause` and `retryAfterSeconds` (default 1).
   */
  constructor(message: string, options: ErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }
}

/**
 * Failures only the host can see: the plugin process itself broke, not the
 * handler's backend. `memory`: its memory cgroup (or the fallback limit)
 * killed it at its cap; `too_large`: the answer exceeded the size or nesting
 * bound (`IMBI_PLUGIN_MAX_ANSWER_MB`, 64 levels); `egress_denied`: the
 * operator's egress policy denies one of the node's network hosts, so its
 * process was never started.
 */
export const HOST_ERROR_KINDS = [
  "timeout",
  "crashed",
  "memory",
  "saturated",
  "protocol",
  "too_large",
  "internal",
  "egress_denied",
] as const;

/**
 * The kinds of failure a plugin call may end in (spec section 2.2): a kind
 * the handler signalled (the SDK's {@linkcode HandlerErrorKind}) or one of
 * the {@linkcode HOST_ERROR_KINDS}.
 */
export type PluginErrorKind = HandlerErrorKind | (typeof HOST_ERROR_KINDS)[number];

/**
 * A plugin call failed. `kind` decides the HTTP status; `message` is the
 * plugin's own text, already scrubbed of the node's secrets by the
 * supervisor.
 */
export class PluginCallError extends Error {
  /** Always `"PluginCallError"`. */
  override name = "PluginCallError";
  /** What went wrong; decides the HTTP status. */
  readonly kind: PluginErrorKind;
  /** Seconds until a retry may succeed (rate limits, respawn back-off). */
  readonly retryAfterSeconds: number | undefined;
  /** The handler has no such method (an optional one, such as `describePrefix`); `kind` is `invalid_input`. */
  readonly notImplemented: boolean;

  /**
   * Makes the failure of one plugin call.
   *
   * @param kind What went wrong.
   * @param message The plugin's text (scrubbed) or the host's.
   * @param options `cause`, `retryAfterSeconds`, and `notImplemented`.
   */
  constructor(
    kind: PluginErrorKind,
    message: string,
    options: ErrorOptions & { retryAfterSeconds?: number; notImplemented?: boolean } = {},
  ) {
    super(message, options);
    this.kind = kind;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.notImplemented = options.notImplemented ?? false;
  }
}

/** An admin-API package operation was refused (HTTP 409, 422 or 502 by `kind`). */
export class PackageError extends Error {
  /** Always `"PackageError"`. */
  override name = "PackageError";
  /** Why the operation was refused; decides the HTTP status. */
  readonly kind:
    | "already_installed"
    | "not_installed"
    | "refused"
    | "registry"
    | "in_use"
    | "too_young"
    | "permissions_not_accepted";
  /** Extra members for the problem body. */
  readonly extra: Record<string, unknown>;
  /**
   * Makes the failure.
   *
   * @param kind Why the operation was refused.
   * @param message What was refused and why.
   * @param options `cause` and `extra` members.
   */
  constructor(
    kind: PackageError["kind"],
    message: string,
    options: ErrorOptions & { extra?: Record<string, unknown> } = {},
  ) {
    super(message, options);
    this.kind = kind;
    this.extra = options.extra ?? {};
  }
}
