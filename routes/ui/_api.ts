/**
 * The console's way to the service: every read and write goes through the
 * HTTP API in process (`app.fetch` with the session's bearer token), so the
 * console checks, audits and answers exactly as the API does, with the same
 * validation errors and JSON pointers.
 *
 * @module
 */

/** One field error of a problem+json answer. */
export interface FieldError {
  /** JSON pointer into the request body (or query). */
  pointer: string;
  /** What rule it broke. */
  message: string;
}

/** An RFC 9457 problem the API answered. */
export interface Problem {
  /** The HTTP status. */
  status: number;
  /** Short title. */
  title: string;
  /** What went wrong. */
  detail: string;
  /** Field errors, when the input was invalid. */
  errors?: FieldError[];
  /** Other members (e.g. `plugin_nodes` of an in-use refusal). */
  [member: string]: unknown;
}

/** An API answer. */
export interface ApiAnswer {
  /** The HTTP status. */
  status: number;
  /** True for 2xx. */
  ok: boolean;
  /** The parsed JSON body. */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** The `ETag` header, if any. */
  etag: string | null;
}

/** Calls the API as the signed-in operator. */
export type Api = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<ApiAnswer>;

/**
 * An API client for one console request.
 *
 * @param fetch The application's own fetch (`app.fetch`).
 * @param options The session's token, the console request's id and URL origin.
 * @returns The client.
 */
export function apiClient(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { token: string; requestId: string; origin: string },
): Api {
  return async (method, path, body, headers = {}) => {
    const sent: Record<string, string> = {
      ...headers,
      authorization: `Bearer ${options.token}`,
      "x-request-id": options.requestId,
    };
    const init: RequestInit = { method, headers: sent };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      sent["content-type"] = "application/json";
    }
    const response = await fetch(new Request(new URL(path, options.origin), init));
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { status: response.status, title: "Unexpected answer", detail: "The API did not answer JSON" };
    }
    return { status: response.status, ok: response.ok, body: parsed, etag: response.headers.get("etag") };
  };
}

/**
 * The problem of a failed answer.
 *
 * @param answer A non-2xx answer.
 * @returns Its problem, with a generic detail when the body has none.
 */
export function problemOf(answer: ApiAnswer): Problem {
  const body = answer.body && typeof answer.body === "object" ? answer.body : {};
  return {
    ...body,
    status: answer.status,
    title: typeof body.title === "string" ? body.title : `Error ${answer.status}`,
    detail: typeof body.detail === "string" ? body.detail : "The request failed",
  };
}

/**
 * Answers 2xx bodies, throws {@linkcode ApiProblem} otherwise.
 *
 * @param answer An API answer (or the call in flight).
 * @returns Its body.
 * @throws {ApiProblem} When the API refused.
 */
// deno-lint-ignore no-explicit-any
export async function must(answer: ApiAnswer | Promise<ApiAnswer>): Promise<any> {
  const a = await answer;
  if (!a.ok) throw new ApiProblem(problemOf(a));
  return a.body;
}

/** The API refused a read the page needs; the console shows it in place of the page. */
export class ApiProblem extends Error {
  /** The error's name. */
  override name = "ApiProblem";
  /** The problem the API answered. */
  readonly problem: Problem;

  /**
   * Wraps a problem the API answered.
   *
   * @param problem The problem the API answered.
   */
  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

/** Percent-encodes one path segment. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
