/**
 * Replica heartbeats in the SQLite store: one row per replica in `replicas`.
 * Private to `core/graph/sqlite/`.
 *
 * @module
 */

import { DeploymentPart } from "../control.ts";
import type { ReplicaRow, ReplicaStore } from "../replica_store.ts";
import type { SqliteDb } from "./_db.ts";

/** {@linkcode ReplicaStore} on the SQLite store's connection. */
export class SqliteReplicas extends DeploymentPart<SqliteDb> implements ReplicaStore {
  /** Inserts or replaces one replica's row. */
  async beat(row: ReplicaRow): Promise<void> {
    await this.db.write(() =>
      this.db.run(
        `INSERT INTO replicas (deployment, id, host, started_at, seen_at, revision, error) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (deployment, id) DO UPDATE SET host = excluded.host, started_at = excluded.started_at,
           seen_at = excluded.seen_at, revision = excluded.revision, error = excluded.error`,
        this.deployment,
        row.id,
        row.host,
        row.started_at,
        row.seen_at,
        row.revision,
        row.error,
      )
    );
  }

  /** Every row, by id. */
  list(): Promise<ReplicaRow[]> {
    return this.db.read(() =>
      this.db.all<ReplicaRow>(
        "SELECT id, host, started_at, seen_at, revision, error FROM replicas WHERE deployment = ? ORDER BY id",
        this.deployment,
      ).map((r) => ({ ...r }))
    );
  }

  /** Deletes one replica's row. */
  async remove(id: string): Promise<void> {
    await this.db.write(() => this.db.run("DELETE FROM replicas WHERE deployment = ? AND id = ?", this.deployment, id));
  }

  /** Deletes rows last seen before `before`. */
  prune(before: string): Promise<number> {
    return this.db.write(() =>
      this.db.run("DELETE FROM replicas WHERE deployment = ? AND seen_at < ?", this.deployment, before).changes
    );
  }
}
