/**
 * The audit log's storage: one append-only list of records in the graph
 * store, shared by every replica (issue 10). Both stores implement
 * {@linkcode AuditStore}; `core/audit.ts` is what callers use (it stamps
 * the time and the replica and refuses values that look like secrets).
 *
 * A record says who did what to which thing, when, through which replica and
 * request, and what the thing was before and after. `from`, `to` and
 * `detail` are JSON an operator reads; they never hold a secret value
 * (credentials are recorded by field name only).
 *
 * @module
 */

/** What a caller records about one admin write. */
export interface AuditEntry {
  /** Who: `admin-api:<token subject>` or `cli:<user>`. */
  actor: string;
  /** The HTTP request id, when the write came through the API; null otherwise. */
  request_id: string | null;
  /**
   * What was done, `<thing>.<verb>`: `package.install`, `package.upgrade`,
   * `package.remove`, `lock.rollback`, `lock.import`, `registry.reload`,
   * `credentials.reencrypt`, `application.update`, `bindings.replace`, …
   */
  action: string;
  /** The kind of thing changed: `package`, `lock`, `registry`, `credentials`, `org`, `application`, `bindings`, … */
  target_kind: string;
  /** Which one, as an operator names it: a package name, `acme/aws/prod`, `project:acme/billing`, … */
  target: string;
  /** The thing before the write (JSON, never a secret value); null when it did not exist. */
  from: unknown;
  /** The thing after the write (JSON, never a secret value); null when it was deleted. */
  to: unknown;
  /** Anything else an operator reads: revisions, versions, disabled Plugin nodes, counts. */
  detail: Record<string, unknown>;
}

/** An audit record as stored. */
export interface AuditRecord extends AuditEntry {
  /** Its place in the log, assigned by the store: strictly increasing, never reused. */
  seq: number;
  /** ISO 8601 time of the write. */
  at: string;
  /** The replica (or CLI process) that made the write. */
  replica: string;
}

/** A record to append: everything but the `seq` the store assigns. */
export type AuditInput = Omit<AuditRecord, "seq">;

/** Which records {@linkcode AuditStore.list} returns, newest first. */
export interface AuditQuery {
  /** At most this many (1 to 1000). Default 100. */
  limit?: number;
  /** Only records older than this `seq` (the `next` of the previous page). */
  before?: number;
  /** Only records of this kind of thing. */
  target_kind?: string;
  /** Only records of this thing (usually with `target_kind`). */
  target?: string;
  /** Only records of this action. */
  action?: string;
}

/** One page of {@linkcode AuditStore.list}. */
export interface AuditPage {
  /** The records, newest (highest `seq`) first. */
  items: AuditRecord[];
  /** The `before` of the next page; null when this is the last one. */
  next: number | null;
}

/** The audit log's storage. Safe to call concurrently, also from several processes. */
export interface AuditStore {
  /**
   * Appends one record in its own transaction.
   *
   * @returns The record with its `seq`.
   */
  append(record: AuditInput): Promise<AuditRecord>;
  /**
   * Records newest first, filtered and paged.
   *
   * @throws {RangeError} For a limit outside 1..1000 or a negative `before`.
   */
  list(query?: AuditQuery): Promise<AuditPage>;
}

/** The default and the largest page of {@linkcode AuditStore.list}. */
export const AUDIT_PAGE = { default: 100, max: 1000 } as const;

/**
 * Checks a query and applies its defaults (the one place they are written).
 *
 * @param query What the caller asked for.
 * @returns The limit, the cursor and the filters, each null when absent.
 * @throws {RangeError} For a limit outside 1..1000 or a `before` below 0.
 */
export function auditQuery(query: AuditQuery = {}): {
  limit: number;
  before: number | null;
  target_kind: string | null;
  target: string | null;
  action: string | null;
} {
  const limit = query.limit ?? AUDIT_PAGE.default;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE.max) {
    throw new RangeError(`audit page limit must be between 1 and ${AUDIT_PAGE.max}, got ${limit}`);
  }
  const before = query.before ?? null;
  if (before !== null && (!Number.isSafeInteger(before) || before < 0)) {
    throw new RangeError(`audit cursor "before" must be a non-negative integer, got ${before}`);
  }
  return {
    limit,
    before,
    target_kind: query.target_kind ?? null,
    target: query.target ?? null,
    action: query.action ?? null,
  };
}

/**
 * Cuts the one extra row a store reads past the page into the page and its cursor.
 *
 * @param rows Up to `limit + 1` records, newest first.
 * @param limit The page size.
 * @returns The page.
 */
export function auditPage(rows: AuditRecord[], limit: number): AuditPage {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? items.at(-1)!.seq : null };
}

/**
 * An audit record as both stores keep it: `from`, `to` and `detail` as JSON
 * text. A store that drops null properties (Neo4j) may leave `request_id` out.
 */
export interface StoredAudit {
  /** The record's `seq`. */
  seq: number;
  /** The record's `at`. */
  at: string;
  /** The record's `actor`. */
  actor: string;
  /** The record's `replica`. */
  replica: string;
  /** The record's `request_id`; absent reads as null. */
  request_id?: string | null;
  /** The record's `action`. */
  action: string;
  /** The record's `target_kind`. */
  target_kind: string;
  /** The record's `target`. */
  target: string;
  /** `from` as JSON text (`null` for none). */
  from_value: string;
  /** `to` as JSON text (`null` for none). */
  to_value: string;
  /** `detail` as JSON text. */
  detail: string;
}

/**
 * Encodes a record to append the way both stores keep it.
 *
 * @param record The record.
 * @returns Its stored fields, without the `seq` the store assigns.
 */
export function storedAudit(record: AuditInput): Omit<StoredAudit, "seq"> {
  return {
    at: record.at,
    actor: record.actor,
    replica: record.replica,
    request_id: record.request_id,
    action: record.action,
    target_kind: record.target_kind,
    target: record.target,
    from_value: JSON.stringify(record.from ?? null),
    to_value: JSON.stringify(record.to ?? null),
    detail: JSON.stringify(record.detail),
  };
}

/**
 * Decodes one stored record.
 *
 * @param row The record as a store read it.
 * @returns The record.
 */
export function auditRecordOf(row: StoredAudit): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    replica: row.replica,
    request_id: row.request_id ?? null,
    action: row.action,
    target_kind: row.target_kind,
    target: row.target,
    from: JSON.parse(row.from_value),
    to: JSON.parse(row.to_value),
    detail: JSON.parse(row.detail),
  };
}

/**
 * The record a store answers for an append: the input with its `seq`, and
 * `from` and `to` null where they were left out.
 *
 * @param record The appended record.
 * @param seq The `seq` the store assigned.
 * @returns The record as stored.
 */
export function appendedAudit(record: AuditInput, seq: number): AuditRecord {
  return { seq, ...record, from: record.from ?? null, to: record.to ?? null };
}
