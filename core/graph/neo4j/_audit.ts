/**
 * The audit log in the Neo4j store: one `(:AuditRecord)` node per record.
 * `seq` comes from one `(:AuditCounter {name: "audit"})` node whose
 * increment takes its write lock, so concurrent appends (from any replica)
 * get distinct, increasing numbers; a uniqueness constraint on `seq` backs
 * it. `from`, `to` and `detail` are stored as JSON text. Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import neo4j from "neo4j-driver";
import * as audit from "../audit_store.ts";
import { type Neo4jDb, one, run, type Tx } from "./_db.ts";

/** The Cypher texts of the audit log; values travel only as parameters. */
const AUDIT_Q = {
  append: `MERGE (c:AuditCounter {name: "audit"}) ON CREATE SET c.seq = 0
    SET c.seq = c.seq + 1
    CREATE (a:AuditRecord {seq: c.seq, at: $at, actor: $actor, replica: $replica, request_id: $request_id,
      action: $action, target_kind: $target_kind, target: $target, from_value: $from_value, to_value: $to_value,
      detail: $detail})
    RETURN a.seq AS seq`,
  list: `MATCH (a:AuditRecord)
    WHERE ($before IS NULL OR a.seq < $before) AND ($target_kind IS NULL OR a.target_kind = $target_kind)
      AND ($target IS NULL OR a.target = $target) AND ($action IS NULL OR a.action = $action)
    RETURN a {.*} AS a ORDER BY a.seq DESC LIMIT $limit`,
} as const;

/**
 * Appends one record inside the caller's write transaction (a lock-state
 * commit writes its record this way, in the same transaction).
 *
 * @param tx A write transaction.
 * @param record The record.
 * @returns It with its `seq`.
 */
export async function appendAudit(tx: Tx, record: audit.AuditInput): Promise<audit.AuditRecord> {
  const row = await one(tx, AUDIT_Q.append, audit.storedAudit(record));
  return audit.appendedAudit(record, row!.get("seq") as number);
}

/** {@linkcode audit.AuditStore} on the Neo4j store's driver. */
export class Neo4jAudit implements audit.AuditStore {
  #db: Neo4jDb;

  /**
   * Wraps the store's driver.
   *
   * @param db The driver and its transactions.
   */
  constructor(db: Neo4jDb) {
    this.#db = db;
  }

  /** Appends one record in its own transaction. */
  append(record: audit.AuditInput): Promise<audit.AuditRecord> {
    return this.#db.write((tx) => appendAudit(tx, record));
  }

  /** Records newest first, filtered and paged. */
  async list(query?: audit.AuditQuery): Promise<audit.AuditPage> {
    const q = audit.auditQuery(query);
    return await this.#db.read(async (tx) => {
      const result = await run(tx, AUDIT_Q.list, {
        before: q.before === null ? null : neo4j.int(q.before),
        target_kind: q.target_kind,
        target: q.target,
        action: q.action,
        limit: neo4j.int(q.limit + 1),
      });
      return audit.auditPage(result.records.map((r) => audit.auditRecordOf(r.get("a") as audit.StoredAudit)), q.limit);
    });
  }
}
