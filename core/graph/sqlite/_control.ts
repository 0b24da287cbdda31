/**
 * The control state in the SQLite store (`../control.ts`): the audit log,
 * the lock state and the replicas' heartbeats. Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import type { ControlStore, DeploymentControl } from "../control.ts";
import { SqliteAudit } from "./_audit.ts";
import type { SqliteDb } from "./_db.ts";
import { SqliteLock } from "./_lock.ts";
import { SqliteReplicas } from "./_replicas.ts";

/** {@linkcode ControlStore} on the Sqlite store's connection. */
export class SqliteControl implements ControlStore {
  /** The audit log. */
  readonly audit: SqliteAudit;
  #db: SqliteDb;

  /**
   * Wraps the store's connection.
   *
   * @param db The connection.
   */
  constructor(db: SqliteDb) {
    this.#db = db;
    this.audit = new SqliteAudit(db);
  }

  /** One deployment's lock state and heartbeats. */
  deployment(name: string): DeploymentControl {
    return { lock: new SqliteLock(this.#db, name), replicas: new SqliteReplicas(this.#db, name) };
  }
}
