/**
 * Replica heartbeats in the Neo4j store: one `(:Replica {deployment, id})`
 * node per replica. Private to `core/graph/neo4j/`.
 *
 * @module
 */

import { DeploymentPart } from "../control.ts";
import neo4j from "neo4j-driver";
import type { ReplicaRow, ReplicaStore } from "../replica_store.ts";
import { type Neo4jDb, one, run } from "./_db.ts";

/** The Cypher texts of the heartbeats; values travel only as parameters. */
const REPLICA_Q = {
  beat: `MERGE (r:Replica {deployment: $deployment, id: $id})
    SET r.host = $host, r.started_at = $started_at, r.seen_at = $seen_at, r.revision = $revision, r.error = $error`,
  list: `MATCH (r:Replica {deployment: $deployment}) RETURN r {.*} AS r ORDER BY r.id`,
  remove: `MATCH (r:Replica {deployment: $deployment, id: $id}) DELETE r`,
  prune: `MATCH (r:Replica {deployment: $deployment}) WHERE r.seen_at < $before DELETE r RETURN count(r) AS n`,
} as const;

/** {@linkcode ReplicaStore} on the Neo4j store's driver. */
export class Neo4jReplicas extends DeploymentPart<Neo4jDb> implements ReplicaStore {
  /** Inserts or replaces one replica's row. */
  async beat(row: ReplicaRow): Promise<void> {
    await this.db.write((tx) =>
      run(tx, REPLICA_Q.beat, { ...row, deployment: this.deployment, revision: neo4j.int(row.revision) })
    );
  }

  /** Every row, by id. */
  async list(): Promise<ReplicaRow[]> {
    const result = await this.db.read((tx) => run(tx, REPLICA_Q.list, { deployment: this.deployment }));
    return result.records.map((record) => {
      const r = record.get("r") as Record<string, unknown>;
      return {
        id: r.id as string,
        host: r.host as string,
        started_at: r.started_at as string,
        seen_at: r.seen_at as string,
        revision: r.revision as number,
        error: (r.error ?? null) as string | null,
      };
    });
  }

  /** Deletes one replica's row. */
  async remove(id: string): Promise<void> {
    await this.db.write((tx) => run(tx, REPLICA_Q.remove, { deployment: this.deployment, id }));
  }

  /** Deletes rows last seen before `before`. */
  async prune(before: string): Promise<number> {
    const row = await this.db.write((tx) => one(tx, REPLICA_Q.prune, { deployment: this.deployment, before }));
    return (row?.get("n") ?? 0) as number;
  }
}
