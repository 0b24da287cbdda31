/**
 * The audit record of a graph write in the Neo4j store, appended in the
 * write's own transaction (`../audit_changes.ts`). Private to
 * `core/graph/neo4j/`.
 *
 * @module
 */

import { graphAuditRecord, type GraphChange } from "../audit_changes.ts";
import type { CreateOptions } from "../store.ts";
import { appendAudit } from "./_audit.ts";
import type { Tx } from "./_db.ts";

/**
 * Appends a write's audit record when the write carries a stamp.
 *
 * @param tx The write's transaction.
 * @param options The write's options; without `audit` nothing is recorded.
 * @param change What the write changed, from what to what.
 */
export async function recordChange(tx: Tx, options: CreateOptions | undefined, change: GraphChange): Promise<void> {
  if (options?.audit) await appendAudit(tx, graphAuditRecord(options.audit, change));
}
