/**
 * The control state in the SQLite store (`../control.ts`): the audit log,
 * the lock state and the replicas' heartbeats. Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import type { ControlStore } from "../control.ts";
import { SqliteAudit } from "./_audit.ts";
import type { SqliteDb } from "./_db.ts";
import { SqliteLock } from "./_lock.ts";
import { SqliteReplicas } from "./_replicas.ts";

/**
 * {@linkcode ControlStore} on the SQLite store's connection.
 *
 * @param db The store's connection.
 * @returns The audit log, and each deployment's lock state and heartbeats.
 */
export function sqliteControl(db: SqliteDb): ControlStore {
  return {
    audit: new SqliteAudit(db),
    deployment: (name) => ({ lock: new SqliteLock(db, name), replicas: new SqliteReplicas(db, name) }),
  };
}
