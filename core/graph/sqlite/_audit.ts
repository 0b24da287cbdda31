/**
 * The audit log in the SQLite store: one row per record in `audit_log`,
 * `seq` its AUTOINCREMENT key. Private to `core/graph/sqlite/`.
 *
 * @module
 */

import {
  appendedAudit,
  type AuditInput,
  type AuditPage,
  auditPage,
  type AuditQuery,
  auditQuery,
  type AuditRecord,
  auditRecordOf,
  type AuditStore,
  type StoredAudit,
  storedAudit,
} from "../audit_store.ts";
import type { SqliteDb } from "./_db.ts";

/**
 * Appends one record inside the caller's write transaction (a lock-state
 * commit writes its record this way, in the same transaction).
 *
 * @param db The connection, in a write transaction.
 * @param record The record.
 * @returns It with its `seq`.
 */
export function insertAudit(db: SqliteDb, record: AuditInput): AuditRecord {
  const row = storedAudit(record);
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
  return appendedAudit(record, lastInsertRowid);
}

/** {@linkcode AuditStore} on the SQLite store's connection. */
export class SqliteAudit implements AuditStore {
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
  append(record: AuditInput): Promise<AuditRecord> {
    return this.#db.write(() => insertAudit(this.#db, record));
  }

  /** Records newest first, filtered and paged. */
  async list(query?: AuditQuery): Promise<AuditPage> {
    const q = auditQuery(query);
    return await this.#db.read(() => {
      const rows = this.#db.all<StoredAudit>(
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
      return auditPage(rows.map(auditRecordOf), q.limit);
    });
  }
}
