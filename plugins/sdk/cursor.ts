/**
 * Opaque, fingerprinted pagination cursors for logs handlers.
 *
 * A cursor carries the handler's own paging state (a backend token, a
 * `search_after` tuple, ...) together with a fingerprint of the query it was
 * issued for. Decoding it against a different query, or decoding a cursor
 * that is malformed, from another plugin scope, or older than `maxAgeMs`,
 * throws {@linkcode CursorExpired}, which the host answers with HTTP 409.
 *
 * The fingerprint covers `start`, `end`, `filters` and `levels` (and the
 * `scope` you pass, e.g. the rendered `search_template`); `limit` and
 * `cursor` are left out, so a client may change the page size between pages.
 * Cursors are encoded, not encrypted: never put a secret in the state.
 *
 * @example
 * ```ts
 * import { decodeCursor, encodeCursor } from "@imbi/plugin-sdk";
 * const scope = ctx.search_template;
 * const token = query.cursor ? decodeCursor<string>(query.cursor, query, { scope }) : undefined;
 * // ... call the backend with token ...
 * const next_cursor = nextToken ? encodeCursor(query, nextToken, { scope }) : undefined;
 * ```
 *
 * @module
 */

import { CursorExpired } from "./errors.ts";
import type { LogQuery } from "./types.ts";

/** Options of {@linkcode encodeCursor} and {@linkcode decodeCursor}. */
export interface CursorOptions {
  /** Extra identity the cursor is bound to, e.g. the rendered search_template or a log group. */
  scope?: string;
  /** Decoding refuses cursors issued longer ago than this (milliseconds). Default: no limit. */
  maxAgeMs?: number;
  /** Clock in milliseconds since the epoch; tests pass a fake one. Default: `Date.now`. */
  now?: () => number;
}

/** The query fields a cursor is bound to. */
export type CursorQuery = Pick<LogQuery, "start" | "end" | "filters" | "levels">;

interface Envelope {
  v: 1;
  f: string;
  t: number;
  s: unknown;
}

const encoder = new TextEncoder();

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** FNV-1a, 64 bits: a stable, synchronous fingerprint (not a security measure). */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of encoder.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

function toBase64Url(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * The fingerprint of a query: what a cursor is bound to.
 *
 * @param query The log query (its `limit` and `cursor` are ignored).
 * @param scope Extra identity, e.g. the rendered search_template.
 * @returns A 16-hex-digit fingerprint.
 */
export function queryFingerprint(query: CursorQuery, scope = ""): string {
  const levels = [...(query.levels ?? [])].sort();
  return fnv1a64(canonical({ scope, start: query.start, end: query.end, filters: query.filters ?? [], levels }));
}

/**
 * Wraps paging state into an opaque cursor bound to `query`.
 *
 * @param query The query the next page continues.
 * @param state JSON-serialisable paging state (never a secret).
 * @param options Scope and clock.
 * @returns A URL-safe cursor string.
 */
export function encodeCursor(query: CursorQuery, state: unknown, options: CursorOptions = {}): string {
  const now = options.now ?? Date.now;
  const envelope: Envelope = { v: 1, f: queryFingerprint(query, options.scope), t: now(), s: state };
  return toBase64Url(JSON.stringify(envelope));
}

/**
 * Unwraps a cursor issued by {@linkcode encodeCursor} for the same query.
 *
 * @param cursor The cursor the client sent back.
 * @param query The query of this call.
 * @param options The same scope used to encode; `maxAgeMs` to refuse old cursors.
 * @returns The paging state.
 * @throws {CursorExpired} When the cursor is malformed, belongs to another
 *   query or scope, or is older than `maxAgeMs`.
 */
export function decodeCursor<State = unknown>(cursor: string, query: CursorQuery, options: CursorOptions = {}): State {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(fromBase64Url(cursor));
  } catch (cause) {
    throw new CursorExpired("The cursor is not one this plugin issued", { cause });
  }
  if (envelope === null || typeof envelope !== "object" || envelope.v !== 1 || typeof envelope.f !== "string") {
    throw new CursorExpired("The cursor is not one this plugin issued");
  }
  if (envelope.f !== queryFingerprint(query, options.scope)) {
    throw new CursorExpired("The cursor belongs to another query; start again without a cursor");
  }
  const now = options.now ?? Date.now;
  if (options.maxAgeMs !== undefined && (typeof envelope.t !== "number" || now() - envelope.t > options.maxAgeMs)) {
    throw new CursorExpired("The cursor has expired; start again without a cursor");
  }
  return envelope.s as State;
}
