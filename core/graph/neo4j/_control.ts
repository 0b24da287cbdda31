/**
 * The control state in the Neo4j store (`../control.ts`): the audit log.
 * Private to `core/graph/neo4j/`.
 *
 * @module
 */

import type { ControlStore } from "../control.ts";
import { Neo4jAudit } from "./_audit.ts";
import type { Neo4jDb } from "./_db.ts";

/** {@linkcode ControlStore} on the Neo4j store's driver. */
export class Neo4jControl implements ControlStore {
  /** The audit log. */
  readonly audit: Neo4jAudit;

  /**
   * Wraps the store's driver.
   *
   * @param db The driver and its transactions.
   */
  constructor(db: Neo4jDb) {
    this.audit = new Neo4jAudit(db);
  }
}
