/**
 * The state the service's replicas share beside the graph itself, kept in
 * the same store (issue 10): the audit log (`audit_store.ts`), the lock
 * state with its history (`lock_store.ts`) and the replicas' heartbeats
 * (`replica_store.ts`). Every `GraphStore` has one, as `store.control`.
 *
 * The lock state and the heartbeats belong to a deployment
 * (`IMBI_DEPLOYMENT`, default `default`): the replicas of one deployment
 * share them; two deployments on one graph store (or two tests on one test
 * server) never see each other's. The audit log is one for the store.
 *
 * @module
 */

import type { AuditStore } from "./audit_store.ts";
import type { LockStore } from "./lock_store.ts";
import type { ReplicaStore } from "./replica_store.ts";

/** The types the control stores' methods take and answer. */
export type { AuditEntry, AuditInput, AuditPage, AuditQuery, AuditRecord } from "./audit_store.ts";
export type { LockHistoryQuery, LockRevision } from "./lock_store.ts";
export type { ReplicaRow } from "./replica_store.ts";
export type { AuditStore, LockStore, ReplicaStore };

/** The shared control state of the service, in the graph store. */
export interface ControlStore {
  /** The audit log of every admin write. */
  readonly audit: AuditStore;
  /**
   * One deployment's lock state and replica heartbeats.
   *
   * @param name The deployment (`IMBI_DEPLOYMENT`).
   */
  deployment(name: string): DeploymentControl;
}

/** What the replicas of one deployment share. */
export interface DeploymentControl {
  /** Which plugin packages are installed, revision by revision (compare-and-set writes). */
  readonly lock: LockStore;
  /** The replicas' heartbeats. */
  readonly replicas: ReplicaStore;
}

/** The deployment name's rule (also `IMBI_DEPLOYMENT`'s). */
export const DEPLOYMENT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Base of a store's part of one deployment's control state (its lock state,
 * its heartbeats): the store's connection and the deployment's name.
 */
export abstract class DeploymentPart<Db> {
  /** The store's connection (SQLite) or driver (Neo4j). */
  protected readonly db: Db;
  /** The deployment whose state this is. */
  protected readonly deployment: string;

  /**
   * Binds the part to a connection and a deployment.
   *
   * @param db The store's connection or driver.
   * @param deployment The deployment whose state this is.
   */
  constructor(db: Db, deployment: string) {
    this.db = db;
    this.deployment = deployment;
  }
}
