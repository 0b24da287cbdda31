/**
 * A {@linkcode HandlerRunner} that constructs a handler class in the calling
 * process: quick unit tests of a plugin's logic. Arguments and results go
 * through JSON exactly as they would over the sandbox channel, and failures
 * keep their typed `kind`. It grants nothing and checks no network
 * permission; `deno task plugin:check` runs the same suite in the sandbox.
 *
 * @module
 */

import type { HandlerRunner } from "./conformance.ts";
import type { HandlerClass, HandlerInit, ProtocolMethod } from "./types.ts";

/** What a test passes to build a handler; unset fields get harmless test values. */
export interface TestInit {
  /** The node's options, before defaults (the manifest's schema fills those in). */
  options?: Record<string, unknown>;
  /** The credentials, by field name (default: none). */
  credentials?: Record<string, string>;
  /** The Plugin node (default: `test-<slug>`). */
  plugin?: { id: string; slug: string };
  /** Fields of the service (default: a `test-service` without vendor, URL or region). */
  service?: Partial<HandlerInit["service"]>;
}

/** A handler failure as it crosses the wire: message and typed kind. */
export class HandlerCallError extends Error {
  /** Always `"HandlerCallError"`. */
  override name = "HandlerCallError";
  /** The typed kind (`"not_found"`, ...), `"not_implemented"`, or `"internal"` for an untyped throw. */
  readonly kind: string;
  /** Seconds until a retry may succeed, when the handler said. */
  readonly retryAfter: number | undefined;

  /**
   * Makes the failure of one call.
   *
   * @param kind The typed kind, `"not_implemented"` or `"internal"`.
   * @param message The handler's message.
   * @param options `cause` (what the handler threw), `retryAfter` in seconds.
   */
  constructor(kind: string, message: string, options: ErrorOptions & { retryAfter?: number } = {}) {
    super(message, options);
    this.kind = kind;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * Applies the `default`s of an options schema's top-level properties, as the
 * host does before it constructs a handler.
 *
 * @param schema The manifest's `options` JSON Schema.
 * @param options The options given.
 * @returns A new object with defaults filled in.
 */
export function applyOptionDefaults(
  schema: Record<string, unknown> | undefined,
  options: Record<string, unknown> = {},
): Record<string, unknown> {
  const out = { ...options };
  const properties = (schema?.properties ?? {}) as Record<string, { default?: unknown }>;
  for (const [name, property] of Object.entries(properties)) {
    if (out[name] === undefined && property.default !== undefined) out[name] = structuredClone(property.default);
  }
  return out;
}

/**
 * Completes a test's partial init into what the host would pass.
 *
 * @param handler The handler class, or anything with its manifest (which supplies option defaults and the slug).
 * @param init The test's options, credentials, plugin and service fields.
 * @returns A full {@linkcode HandlerInit}.
 */
export function completeInit(handler: Pick<HandlerClass, "manifest">, init: TestInit = {}): HandlerInit {
  const slug = handler.manifest.slug;
  return {
    options: applyOptionDefaults(handler.manifest.options, init.options),
    credentials: init.credentials ?? {},
    plugin: init.plugin ?? { id: `test-${slug}`, slug },
    service: {
      slug: "test-service",
      name: "Test service",
      vendor: null,
      base_url: null,
      account: null,
      region: null,
      ...init.service,
    },
  };
}

function overTheWire<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/**
 * Constructs `handler` in this process and returns a runner for it.
 *
 * @param handler The handler class.
 * @param init Options, credentials and service fields for the constructor.
 * @returns A runner; `close()` is a no-op.
 * @example
 * ```ts
 * const runner = inProcess(MyConfig, { options: { prefix: "/app" } });
 * const keys = await runner.call("listKeys", [ctx]);
 * ```
 */
export function inProcess(handler: HandlerClass, init: TestInit = {}): HandlerRunner {
  const instance = new handler(completeInit(handler, init)) as unknown as Record<string, unknown>;
  return {
    manifest: handler.manifest,
    async call<T>(method: ProtocolMethod, args: unknown[]): Promise<T> {
      const fn = instance[method];
      if (typeof fn !== "function") {
        throw new HandlerCallError("not_implemented", `"${handler.manifest.slug}" does not implement ${method}()`);
      }
      try {
        return overTheWire(await fn.apply(instance, overTheWire(args))) as T;
      } catch (error) {
        const typed = error as { kind?: unknown; message?: unknown; retryAfter?: number };
        const kind = typeof typed?.kind === "string" ? typed.kind : "internal";
        throw new HandlerCallError(kind, String(typed?.message ?? error), {
          cause: error,
          retryAfter: typed?.retryAfter,
        });
      }
    },
    close: () => Promise.resolve(),
  };
}
