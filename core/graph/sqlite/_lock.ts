/**
 * The lock state in the SQLite store: one row per deployment and revision
 * in `lock_revisions`, the current one the highest. A commit checks the current
 * revision and inserts the new one (and its audit record) in one
 * `BEGIN IMMEDIATE` transaction, which other connections wait for. Private
 * to `core/graph/sqlite/`.
 *
 * @module
 */

import { DeploymentPart } from "../control.ts";
import type { AuditInput } from "../audit_store.ts";
import * as lock from "../lock_store.ts";
import { insertAudit } from "./_audit.ts";
import type { SqliteDb } from "./_db.ts";

const CURRENT = "SELECT COALESCE(MAX(revision), 0) AS revision FROM lock_revisions WHERE deployment = ?";
const COLUMNS =
  "revision, document, written_at, written_by, request_id, action, package, from_revision, summary, replica";

/** A row as a plain object (`node:sqlite` rows have no prototype). */
function plain(row: lock.LockRevision | undefined): lock.LockRevision | null {
  return row ? { ...row } : null;
}

/** {@linkcode lock.LockStore} on the SQLite store's connection. */
export class SqliteLock extends DeploymentPart<SqliteDb> implements lock.LockStore {
  /** The current revision; 0 when empty. */
  revision(): Promise<number> {
    return this.db.read(() => this.db.get<{ revision: number }>(CURRENT, this.deployment)!.revision);
  }

  /** The current revision with its document, or null. */
  current(): Promise<lock.LockRevision | null> {
    return this.db.read(() =>
      plain(
        this.db.get<lock.LockRevision>(
          `SELECT ${COLUMNS} FROM lock_revisions WHERE deployment = ? ORDER BY revision DESC LIMIT 1`,
          this.deployment,
        ),
      )
    );
  }

  /** One kept revision, or null. */
  get(revision: number): Promise<lock.LockRevision | null> {
    return this.db.read(() =>
      plain(
        this.db.get<lock.LockRevision>(
          `SELECT ${COLUMNS} FROM lock_revisions WHERE deployment = ? AND revision = ?`,
          this.deployment,
          revision,
        ),
      )
    );
  }

  /** Kept revisions, newest first. */
  list(query?: lock.LockHistoryQuery): Promise<lock.LockRevision[]> {
    const q = lock.lockHistoryQuery(query);
    return this.db.read(() =>
      this.db.all<lock.LockRevision>(
        `SELECT ${COLUMNS} FROM lock_revisions WHERE deployment = ?1 AND (?2 IS NULL OR revision < ?2)
         ORDER BY revision DESC LIMIT ?3`,
        this.deployment,
        q.before,
        q.limit,
      ).map((r) => plain(r)!)
    );
  }

  /** Compare-and-set: writes `next` and its audit record when the current revision is `expected`. */
  async commit(expected: number, next: lock.LockRevision, audit: AuditInput): Promise<lock.LockRevision> {
    lock.checkNextRevision(expected, next);
    return await this.db.write(() => {
      const actual = this.db.get<{ revision: number }>(CURRENT, this.deployment)!.revision;
      if (actual !== expected) throw new lock.RevisionConflictError(expected, actual);
      this.db.run(
        `INSERT INTO lock_revisions (deployment, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        this.deployment,
        next.revision,
        next.document,
        next.written_at,
        next.written_by,
        next.request_id,
        next.action,
        next.package,
        next.from_revision,
        next.summary,
        next.replica,
      );
      insertAudit(this.db, audit);
      return { ...next };
    });
  }
}
