/**
 * Entity tags of graph resources (RFC 9110 section 8.8.3) and the
 * compare-and-set every conditional write makes.
 *
 * An ETag is a hash of the resource's stored state (the graph model a store
 * returns: an organization, a project with its project types, an
 * application with its credential ciphertexts, a Plugin node, a scope's
 * bindings in order), not a version counter kept beside it. Why a hash:
 * - No write path can forget to bump it: a package removal that disables
 *   Plugin nodes, a key re-encryption or an import changes the tag because it
 *   changes the state.
 * - Both stores compute the same tag for the same state, and a graph copied
 *   with `graph:migrate` keeps its tags; no schema change in either store.
 * - The same write repeated leaves the same tag, so it does not invalidate
 *   what other clients hold.
 *
 * The tags are strong (`"…"`, never `W/"…"`): `If-Match` compares strongly,
 * and two equal tags mean equal stored state. What a response adds from
 * elsewhere (a Plugin node's load status and network hosts, which credential
 * values a manifest lets an application show) is not part of the resource
 * and does not change its tag.
 *
 * The hash is synchronous (`node:crypto`), so the SQLite store can compare
 * inside its synchronous transaction.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { PreconditionFailedError } from "../errors.ts";

/** `If-Match` as a write receives it (RFC 9110 section 13.1.1): `"*"`, or the entity tags the caller accepts. */
export type IfMatch = "*" | readonly string[];

/** A resource as a response shows it, with the ETag of its stored state. */
export interface Tagged<T> {
  /** What the response body shows. */
  value: T;
  /** The strong ETag, quoted: `"…"`. */
  etag: string;
}

/** Object keys sorted at every depth, so the stores' column and map orders do not matter. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(record).sort().map((key) => [key, canonical(record[key])]));
}

/**
 * The strong ETag of a resource's stored state: 128 bits of the SHA-256 of
 * its canonical JSON, base64url, quoted.
 *
 * @param stored The resource as the store returns it.
 * @returns The tag, e.g. `"x3Jp0Qd2kVQ5lE0ZB6m9hA"`.
 * @example
 * ```ts
 * const etag = etagOf(await store.getOrg("acme"));
 * ```
 */
export function etagOf(stored: unknown): string {
  const digest = createHash("sha256").update(JSON.stringify(canonical(stored))).digest();
  return `"${digest.subarray(0, 16).toString("base64url")}"`;
}

/**
 * A resource as shown, tagged with the ETag of its stored state.
 *
 * @param stored The resource as the store returns it.
 * @param shown What a response shows, when it is not `stored` itself.
 * @returns The value and its tag.
 */
export function tagged<S, T = S>(stored: S, ...shown: [T] | []): Tagged<T> {
  const value = (shown.length === 0 ? stored : shown[0]) as T;
  return { value, etag: etagOf(stored) };
}

/**
 * Whether `If-Match` holds for a resource's current tag: `"*"` holds for any
 * existing resource; otherwise one listed tag must equal it (strong
 * comparison, so a weak `W/"…"` tag never holds).
 *
 * @param ifMatch The header as parsed; undefined holds.
 * @param etag The current tag.
 * @returns True when the write may go ahead.
 */
function ifMatchHolds(ifMatch: IfMatch | undefined, etag: string): boolean {
  return ifMatch === undefined || ifMatch === "*" || ifMatch.includes(etag);
}

/**
 * The compare of a compare-and-set, inside the write's transaction.
 *
 * @param current The resource's stored state, read in the transaction.
 * @param options The write's `ifMatch`; absent always holds.
 * @param what Names the resource for the message, e.g. `Organization "acme"`.
 * @returns `current`.
 * @throws {PreconditionFailedError} When the condition does not hold.
 */
export function assertIfMatch<T>(current: T, options: { ifMatch?: IfMatch | undefined }, what: string): T {
  const { ifMatch } = options;
  if (ifMatch !== undefined && ifMatch !== "*" && !ifMatchHolds(ifMatch, etagOf(current))) {
    throw new PreconditionFailedError(
      `${what} has changed since it was read: If-Match ${ifMatch.join(", ")} does not match its current ETag`,
    );
  }
  return current;
}
