/**
 * Small HTTP helpers that map a backend's transport failures and status
 * codes onto the typed error set, so every plugin answers the host the same
 * way. They only use `fetch`, so they work inside the sandbox.
 *
 * @module
 */

import {
  CredentialsRejected,
  InvalidInput,
  NotFound,
  type PluginError,
  RateLimited,
  UpstreamUnavailable,
} from "./errors.ts";

/**
 * Reads an HTTP `Retry-After` value (seconds or an HTTP date).
 *
 * @param value The header value, or null.
 * @param now Clock in milliseconds (tests pass a fixed one).
 * @returns Whole seconds to wait (at least 1), or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: () => number = Date.now): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, Number(trimmed));
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(1, Math.ceil((at - now()) / 1000));
}

/**
 * `fetch` that turns a transport failure (refused connection, DNS, reset,
 * permission denied by the sandbox) into {@linkcode UpstreamUnavailable}.
 * The message names the host, never the URL's query or the headers.
 *
 * @param input The URL to fetch.
 * @param init Request options, as for `fetch`.
 * @returns The response, whatever its status.
 * @throws {UpstreamUnavailable} When no response arrived.
 */
export async function fetchUpstream(input: string | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(input);
  try {
    return await fetch(url, init);
  } catch (cause) {
    throw new UpstreamUnavailable(`Cannot reach ${url.host}`, { cause });
  }
}

/**
 * The typed error for an unsuccessful HTTP status, by the usual meaning of
 * the status: 401/403 credentials rejected, 404 not found, 429 rate limited
 * (with `Retry-After`), 5xx upstream unavailable, other 4xx invalid input.
 * Backends that signal errors in the body map those first and fall back here.
 *
 * @param response The backend's response (its body is not read).
 * @param what What was being done, e.g. `"GitHub GET /repos/o/r/actions/variables"`.
 * @returns The error to throw.
 */
export function errorForStatus(response: Response, what: string): PluginError {
  const status = response.status;
  const message = `${what} answered ${status}`;
  if (status === 401 || status === 403) return new CredentialsRejected(message);
  if (status === 404) return new NotFound(message);
  if (status === 429) {
    return new RateLimited(message, { retryAfter: parseRetryAfter(response.headers.get("retry-after")) ?? 1 });
  }
  if (status >= 500) return new UpstreamUnavailable(message);
  return new InvalidInput(message);
}
