/**
 * The lock state in the Neo4j store: one `(:LockRevision)` node per
 * revision and one `(:LockState {deployment})` node holding the current
 * revision number. A commit first takes the state node's write lock (a
 * `SET`), then reads the revision it holds: a concurrent commit from any
 * replica waits for the lock and then sees the new revision, so it fails the
 * compare instead of overwriting. A uniqueness constraint on
 * `(LockRevision.deployment, LockRevision.revision)` backs it: one revision number is never written
 * twice. Private to `core/graph/neo4j/`.
 *
 * @module
 */

import { DeploymentPart } from "../control.ts";
import neo4j from "neo4j-driver";
import type { AuditInput } from "../audit_store.ts";
import * as lock from "../lock_store.ts";
import { appendAudit } from "./_audit.ts";
import { type Neo4jDb, one, run } from "./_db.ts";

/** The Cypher texts of the lock state; values travel only as parameters. */
const LOCK_Q = {
  revision: `OPTIONAL MATCH (s:LockState {deployment: $deployment}) RETURN coalesce(s.revision, 0) AS revision`,
  current: `MATCH (s:LockState {deployment: $deployment})
    MATCH (r:LockRevision {deployment: $deployment, revision: s.revision}) RETURN r {.*} AS r`,
  get: `MATCH (r:LockRevision {deployment: $deployment, revision: $revision}) RETURN r {.*} AS r`,
  list: `MATCH (r:LockRevision {deployment: $deployment}) WHERE $before IS NULL OR r.revision < $before
    RETURN r {.*} AS r ORDER BY r.revision DESC LIMIT $limit`,
  lock: `MERGE (s:LockState {deployment: $deployment}) ON CREATE SET s.revision = 0
    SET s.locked_by = $token RETURN s.revision AS revision`,
  write: `MATCH (s:LockState {deployment: $deployment})
    SET s.revision = $revision
    REMOVE s.locked_by
    CREATE (r:LockRevision {deployment: $deployment, revision: $revision, document: $document, written_at: $written_at,
      written_by: $written_by, request_id: $request_id, action: $action, package: $package,
      from_revision: $from_revision, summary: $summary, replica: $replica})`,
} as const;

function toRevision(r: Record<string, unknown>): lock.LockRevision {
  return {
    revision: r.revision as number,
    document: r.document as string,
    written_at: r.written_at as string,
    written_by: r.written_by as string,
    request_id: (r.request_id ?? null) as string | null,
    action: r.action as string,
    package: (r.package ?? null) as string | null,
    from_revision: r.from_revision as number,
    summary: r.summary as string,
    replica: r.replica as string,
  };
}

/** {@linkcode lock.LockStore} on the Neo4j store's driver. */
export class Neo4jLock extends DeploymentPart<Neo4jDb> implements lock.LockStore {
  /** The current revision; 0 when empty. One auto-commit round trip. */
  async revision(): Promise<number> {
    const row = await this.db.readOne(LOCK_Q.revision, { deployment: this.deployment });
    return (row?.get("revision") ?? 0) as number;
  }

  /** The current revision with its document, or null. */
  async current(): Promise<lock.LockRevision | null> {
    const row = await this.db.read((tx) => one(tx, LOCK_Q.current, { deployment: this.deployment }));
    return row ? toRevision(row.get("r")) : null;
  }

  /** One kept revision, or null. */
  async get(revision: number): Promise<lock.LockRevision | null> {
    const row = await this.db.read((tx) =>
      one(tx, LOCK_Q.get, { deployment: this.deployment, revision: neo4j.int(revision) })
    );
    return row ? toRevision(row.get("r")) : null;
  }

  /** Kept revisions, newest first. */
  async list(query?: lock.LockHistoryQuery): Promise<lock.LockRevision[]> {
    const q = lock.lockHistoryQuery(query);
    const result = await this.db.read((tx) =>
      run(tx, LOCK_Q.list, {
        deployment: this.deployment,
        before: q.before === null ? null : neo4j.int(q.before),
        limit: neo4j.int(q.limit),
      })
    );
    return result.records.map((r) => toRevision(r.get("r")));
  }

  /** Compare-and-set: writes `next` and its audit record when the current revision is `expected`. */
  async commit(expected: number, next: lock.LockRevision, audit: AuditInput): Promise<lock.LockRevision> {
    lock.checkNextRevision(expected, next);
    return await this.db.write(async (tx) => {
      // The SET takes the state node's write lock; the revision read after it is the committed one.
      await run(tx, LOCK_Q.lock, { deployment: this.deployment, token: crypto.randomUUID() });
      const actual = (await one(tx, LOCK_Q.revision, { deployment: this.deployment }))!.get("revision") as number;
      if (actual !== expected) throw new lock.RevisionConflictError(expected, actual);
      await run(tx, LOCK_Q.write, {
        ...next,
        deployment: this.deployment,
        revision: neo4j.int(next.revision),
        from_revision: neo4j.int(next.from_revision),
      });
      await appendAudit(tx, audit);
      return { ...next };
    });
  }
}
