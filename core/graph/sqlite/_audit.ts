/**
 * The audit log in the SQLite store: one row per record in `audit_log`,
 * `seq` its AUTOINCREMENT key. Private to `core/graph/sqlite/`.
 *
 * @module
 */

import * as audit from "../audit_store.ts";
import type { SqliteDb } from "./_db.ts";

/**
 * Appends one record inside the caller's write transaction (a lock-state
 * commit writes its record this way, in the same transaction).
 *
 * @param db The connection, in a write transaction.
 * @param record The record.
 * @returns It with its `seq`.
 */
export function insertAudit(db: SqliteDb, record: audit.AuditInput): audit.AuditRecord {
  const row = audit.storedAudit(record);
  const { lastInsertRowid } = db.run(
    `INSERT INTO audit_log (at, actor, replica, request_id, action, target_kind, target, from_value, to_value, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.at,
    row.actor,
    row.replica,
    row.request_id ?? null,
    row.action,
    row.target_kind,
    row.target,
    row.from_value,
    row.to_value,
    row.detail,
  );
  return audit.appendedAudit(record, lastInsertRowid);
}

/** {@linkcode audit.AuditStore} on the SQLite store's connection. */
export class SqliteAudit implements audit.AuditStore {
  #db: SqliteDb;

  /**
   * Wraps the store's connection.
   *
   * @param db The connection.
   */
  constructor(db: SqliteDb) {
    this.#db = db;
  }

  /** Appends one record in its own transaction. */
  append(record: audit.AuditInput): Promise<audit.AuditRecord> {
    return this.#db.write(() => insertAudit(this.#db, record));
  }

  /** Records newest first, filtered and paged. */
  async list(query?: audit.AuditQuery): Promise<audit.AuditPage> {
    const q = audit.auditQuery(query);
    return await this.#db.read(() => {
      const rows = this.#db.all<audit.StoredAudit>(
        `SELECT * FROM audit_log
         WHERE (?1 IS NULL OR seq < ?1) AND (?2 IS NULL OR target_kind = ?2) AND (?3 IS NULL OR target = ?3)
           AND (?4 IS NULL OR action = ?4)
         ORDER BY seq DESC LIMIT ?5`,
        q.before,
        q.target_kind,
        q.target,
        q.action,
        q.limit + 1,
      );
      return audit.auditPage(rows.map(audit.auditRecordOf), q.limit);
    });
  }
}
