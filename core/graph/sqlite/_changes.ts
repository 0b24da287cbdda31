/**
 * The audit record of a graph write in the SQLite store, appended in the
 * write's own transaction (`../audit_changes.ts`). Private to
 * `core/graph/sqlite/`.
 *
 * @module
 */

import { graphAuditRecord, type GraphChange } from "../audit_changes.ts";
import type { CreateOptions } from "../store.ts";
import { insertAudit } from "./_audit.ts";
import type { SqliteDb } from "./_db.ts";

/**
 * Appends a write's audit record when the write carries a stamp.
 *
 * @param db The connection, inside the write's transaction.
 * @param options The write's options; without `audit` nothing is recorded.
 * @param change What the write changed, from what to what.
 */
export function recordChange(db: SqliteDb, options: CreateOptions | undefined, change: GraphChange): void {
  if (options?.audit) insertAudit(db, graphAuditRecord(options.audit, change));
}
