/**
 * The control state in the SQLite store (`../control.ts`): the audit log.
 * Private to `core/graph/sqlite/`.
 *
 * @module
 */

import type { ControlStore } from "../control.ts";
import { SqliteAudit } from "./_audit.ts";
import type { SqliteDb } from "./_db.ts";

/** {@linkcode ControlStore} on the SQLite store's connection. */
export class SqliteControl implements ControlStore {
  /** The audit log. */
  readonly audit: SqliteAudit;

  /**
   * Wraps the store's connection.
   *
   * @param db The connection.
   */
  constructor(db: SqliteDb) {
    this.audit = new SqliteAudit(db);
  }
}
