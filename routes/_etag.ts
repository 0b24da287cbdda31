/**
 * Optimistic concurrency over HTTP (RFC 9110 sections 8.8.3 and 13.1.1):
 * reads and writes of a graph resource answer its `ETag`; `PATCH`, `PUT` and
 * `DELETE` honour `If-Match`. An operation declares both (`etag`, `ifMatch`
 * in `_openapi.ts`); its declaration parses `If-Match` into the request's
 * `ifMatch` variable, and the handler passes it to the store with
 * `writeOptions()` of `_writes.ts`; the store compares inside the write's
 * transaction (412 when the tag no longer matches). The tags themselves are `core/graph/etag.ts`'s.
 *
 * @module
 */

import { BadRequestError } from "../core/errors.ts";
import type { IfMatch, Tagged } from "../core/graph/etag.ts";

/** What {@linkcode readIfMatch} reads of a request context (Hono's `c.req.header`). */
export interface RequestHeaders {
  /** The request. */
  req: {
    /** A request header's value, or undefined. */
    header(name: string): string | undefined;
  };
}

/** What {@linkcode taggedJson} uses of a request context (Hono's `c.header` and `c.json`). */
export interface JsonResponder {
  /** Sets a response header. */
  header(name: string, value: string): void;
  /** A JSON response. */
  json(value: unknown, status: 200 | 201): Response;
}

/** One list member: an optionally weak, quoted entity tag, then a comma or the end. */
const MEMBER = /\s*((?:W\/)?"[\x21\x23-\x7E\x80-\xFF]*")\s*(?:,|$)/y;

/**
 * Parses an `If-Match` value: `*`, or a comma-separated list of entity tags
 * (weak ones are kept: they never match, as the comparison is strong).
 *
 * @param value The header's value.
 * @returns The parsed condition, or null when the value is malformed.
 */
export function parseIfMatch(value: string): IfMatch | null {
  if (value.trim() === "*") return "*";
  const tags: string[] = [];
  MEMBER.lastIndex = 0;
  while (MEMBER.lastIndex < value.length) {
    const at = MEMBER.lastIndex;
    const match = MEMBER.exec(value);
    if (!match) {
      // An empty list member (`"a", , "b"`) is allowed; anything else is not.
      const empty = /\s*,/y;
      empty.lastIndex = at;
      if (!empty.test(value)) return null;
      MEMBER.lastIndex = empty.lastIndex;
      continue;
    }
    tags.push(match[1]!);
  }
  return tags.length > 0 ? tags : null;
}

/**
 * Reads the request's `If-Match`, for an operation that declares it.
 *
 * @param c The request context.
 * @returns The condition, or undefined when the header is absent.
 * @throws {BadRequestError} Naming the header when its value is malformed.
 */
export function readIfMatch(c: RequestHeaders): IfMatch | undefined {
  const value = c.req.header("if-match");
  if (value === undefined) return undefined;
  const parsed = parseIfMatch(value);
  if (parsed === null) {
    throw new BadRequestError("Invalid If-Match header", {
      errors: [{ pointer: "/headers/if-match", message: 'must be "*" or a list of quoted entity tags' }],
    });
  }
  return parsed;
}

/**
 * A JSON response with the resource's `ETag`.
 *
 * @param c The request context.
 * @param resource What to show, with its tag.
 * @param status 200 or 201.
 * @returns The response.
 */
export function taggedJson(c: JsonResponder, resource: Tagged<unknown>, status: 200 | 201 = 200): Response {
  c.header("etag", resource.etag);
  return c.json(resource.value, status);
}
