/**
 * The state the service's replicas share beside the graph itself, kept in
 * the same store (issue 10): the audit log (`audit_store.ts`). Every
 * `GraphStore` has one, as `store.control`.
 *
 * @module
 */

import type { AuditStore } from "./audit_store.ts";

/** The shared control state of the service, in the graph store. */
export interface ControlStore {
  /** The audit log of every admin write. */
  readonly audit: AuditStore;
}
