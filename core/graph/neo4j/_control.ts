/**
 * The control state in the Neo4j store (`../control.ts`): the audit log,
 * the lock state and the replicas' heartbeats. Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import type { ControlStore } from "../control.ts";
import { Neo4jAudit } from "./_audit.ts";
import type { Neo4jDb } from "./_db.ts";
import { Neo4jLock } from "./_lock.ts";
import { Neo4jReplicas } from "./_replicas.ts";

/**
 * {@linkcode ControlStore} on the Neo4j store's driver.
 *
 * @param db The store's driver.
 * @returns The audit log, and each deployment's lock state and heartbeats.
 */
export function neo4jControl(db: Neo4jDb): ControlStore {
  return {
    audit: new Neo4jAudit(db),
    deployment: (name) => ({ lock: new Neo4jLock(db, name), replicas: new Neo4jReplicas(db, name) }),
  };
}
