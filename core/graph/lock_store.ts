/**
 * The lock state's storage (issue 10): which plugin packages are installed,
 * as one numbered revision after another, kept in the graph store that every
 * replica shares. The current revision is the highest; every earlier one is
 * kept as history (rollback restores one as a new revision).
 *
 * A revision holds the whole lockfile document (`plugins.lock.json`'s format,
 * packages with their integrity) as JSON text, and who wrote it, when, why.
 * The graph layer keeps the document opaque; `core/packages/lock_state.ts`
 * validates it.
 *
 * Every write is a compare-and-set: {@linkcode LockStore.commit} names the
 * revision the writer read and fails with {@linkcode RevisionConflictError}
 * when another writer (any replica) committed meanwhile, so no write is lost
 * and no revision number is written twice. The revision's audit record is
 * written in the same transaction.
 *
 * @module
 */

import { ConflictError } from "../errors.ts";
import type { AuditInput } from "./audit_store.ts";

/** One revision of the lock state. */
export interface LockRevision {
  /** The revision: strictly increasing, never reused. */
  revision: number;
  /** The lockfile document (`plugins.lock.json`'s format) as JSON text, with `revision` equal to this one. */
  document: string;
  /** ISO 8601 time of the write. */
  written_at: string;
  /** Who wrote it: `admin-api:<subject>`, `cli:<user>`, `startup:<replica>`. */
  written_by: string;
  /** The admin request that wrote it; null otherwise. */
  request_id: string | null;
  /** What produced it: `install`, `upgrade`, `remove`, `rollback`, `import`. */
  action: string;
  /** The package changed, when one was. */
  package: string | null;
  /** The revision it replaced (0 for the first). */
  from_revision: number;
  /** One line for an operator, e.g. `install @acme/vault 1.2.0`. */
  summary: string;
  /** The replica (or CLI process) that wrote it. */
  replica: string;
}

/** Which revisions {@linkcode LockStore.list} returns, newest first. */
export interface LockHistoryQuery {
  /** At most this many (1 to 1000). Default 100. */
  limit?: number;
  /** Only revisions below this one. */
  before?: number;
}

/** A compare-and-set lost: another writer committed after the caller read the lock state. */
export class RevisionConflictError extends ConflictError {
  /** Always `"RevisionConflictError"`. */
  override name = "RevisionConflictError";
  /** The revision the caller read. */
  readonly expected: number;
  /** The revision the store holds now. */
  readonly actual: number;

  /**
   * The error of one lost compare-and-set.
   *
   * @param expected The revision the caller read.
   * @param actual The revision the store holds.
   */
  constructor(expected: number, actual: number) {
    super(
      `The lock state moved from revision ${expected} to ${actual} while this change was prepared; retry it`,
      { extra: { expected_revision: expected, current_revision: actual } },
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** The lock state's storage. Safe to call concurrently, also from several processes. */
export interface LockStore {
  /** The current revision; 0 while nothing was ever committed. One cheap read (replicas poll it). */
  revision(): Promise<number>;
  /** The current revision with its document; null while nothing was ever committed. */
  current(): Promise<LockRevision | null>;
  /** One kept revision, or null. */
  get(revision: number): Promise<LockRevision | null>;
  /** Kept revisions, newest first. */
  list(query?: LockHistoryQuery): Promise<LockRevision[]>;
  /**
   * Writes `next` as the new current revision, and `audit` in the same
   * transaction, when the current revision is still `expected`.
   *
   * @param expected The revision the caller read (0: the store is empty).
   * @param next The new revision; `next.revision` must be above `expected`.
   * @param audit The change's audit record.
   * @returns The revision written.
   * @throws {RevisionConflictError} When the current revision is no longer `expected`.
   * @throws {RangeError} When `next.revision` is not above `expected`.
   */
  commit(expected: number, next: LockRevision, audit: AuditInput): Promise<LockRevision>;
}

/**
 * Checks a history query and applies its defaults (the one place they are written).
 *
 * @param query What the caller asked for.
 * @returns The limit and the cursor (null when absent).
 * @throws {RangeError} For a limit outside 1..1000 or a negative cursor.
 */
export function lockHistoryQuery(query: LockHistoryQuery = {}): { limit: number; before: number | null } {
  const limit = query.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw new RangeError(`lock history limit must be between 1 and 1000, got ${limit}`);
  }
  const before = query.before ?? null;
  if (before !== null && (!Number.isSafeInteger(before) || before < 0)) {
    throw new RangeError(`lock history cursor "before" must be a non-negative integer, got ${before}`);
  }
  return { limit, before };
}

/**
 * Refuses a commit whose new revision does not come after the one it replaces.
 *
 * @param expected The revision the caller read.
 * @param next The new revision.
 * @throws {RangeError} When `next.revision <= expected`.
 */
export function checkNextRevision(expected: number, next: LockRevision): void {
  if (!Number.isSafeInteger(next.revision) || next.revision <= expected) {
    throw new RangeError(`A new lock revision must be above ${expected}, got ${next.revision}`);
  }
}
