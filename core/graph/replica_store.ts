/**
 * Replica heartbeats (issue 10): every service process writes one row about
 * itself to the graph store on every lock-state poll, so `GET
 * /admin/replicas` can list the live replicas, the revision each serves and
 * the last error each met. A row whose `seen_at` is old belongs to a replica
 * that stopped; rows are pruned after a while.
 *
 * @module
 */

/** What a replica says about itself. */
export interface ReplicaRow {
  /** `IMBI_REPLICA_ID`, else `<hostname>:<pid>`. */
  id: string;
  /** The host it runs on. */
  host: string;
  /** ISO 8601 time the process started. */
  started_at: string;
  /** ISO 8601 time of its last heartbeat. */
  seen_at: string;
  /** The lock revision its registry was built from. */
  revision: number;
  /** Why it could not move to the store's revision (a package it could not fetch, …); null when it could. */
  error: string | null;
}

/** The heartbeat rows' storage. Safe to call concurrently, also from several processes. */
export interface ReplicaStore {
  /** Writes (inserts or replaces) one replica's row. */
  beat(row: ReplicaRow): Promise<void>;
  /** Every row, by id. */
  list(): Promise<ReplicaRow[]>;
  /** Deletes one replica's row (a clean shutdown). */
  remove(id: string): Promise<void>;
  /**
   * Deletes rows last seen before a time.
   *
   * @param before ISO 8601 time.
   * @returns How many were deleted.
   */
  prune(before: string): Promise<number>;
}
