/**
 * The control state in the Neo4j store (`../control.ts`): the audit log,
 * the lock state and the replicas' heartbeats. Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import type { ControlStore, DeploymentControl } from "../control.ts";
import { Neo4jAudit } from "./_audit.ts";
import type { Neo4jDb } from "./_db.ts";
import { Neo4jLock } from "./_lock.ts";
import { Neo4jReplicas } from "./_replicas.ts";

/** {@linkcode ControlStore} on the Neo4j store's driver. */
export class Neo4jControl implements ControlStore {
  /** The audit log. */
  readonly audit: Neo4jAudit;
  #db: Neo4jDb;

  /**
   * Wraps the store's driver.
   *
   * @param db The driver and its transactions.
   */
  constructor(db: Neo4jDb) {
    this.#db = db;
    this.audit = new Neo4jAudit(db);
  }

  /** One deployment's lock state and heartbeats. */
  deployment(name: string): DeploymentControl {
    return { lock: new Neo4jLock(this.#db, name), replicas: new Neo4jReplicas(this.#db, name) };
  }
}
