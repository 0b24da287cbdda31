/**
 * The lock state in the graph store (`core/graph/lock_store.ts`), the truth
 * every replica of the service reads: a change reads the current revision,
 * applies itself, and commits with a compare-and-set on the revision it
 * read, its audit record in the same transaction. When another replica
 * committed first, the change runs again on the newer lockfile (its checks
 * repeated: a second install of one package is `already_installed`), up to
 * a few times, then answers 409. No write is lost and no revision number is
 * written twice.
 *
 * @module
 */

import type { AuditLog } from "../audit.ts";
import { ConflictError } from "../errors.ts";
import { type LockRevision, type LockStore, RevisionConflictError } from "../graph/lock_store.ts";
import { log } from "../logger.ts";
import type { HistoryRecord } from "./history.ts";
import { emptyLockfile, type Lockfile, parseLockfile, serializeLockfile, validateLockfile } from "./lockfile.ts";
import type { Change, Committed, LockState, Provenance } from "./lock_state.ts";

/** Attempts of one change before it answers 409. */
const ATTEMPTS = 25;

function toHistory(row: LockRevision): HistoryRecord {
  return {
    revision: row.revision,
    written_at: row.written_at,
    written_by: row.written_by,
    request_id: row.request_id,
    action: row.action as HistoryRecord["action"],
    package: row.package,
    from_revision: row.from_revision,
    summary: row.summary,
    lockfile: parseLockfile(row.document, `lock revision ${row.revision} in the graph store`),
  };
}

/** The audit record's action, target and from→to of one change. */
function auditOf(change: Change, before: Lockfile, after: Lockfile) {
  const name = change.package;
  if (name === null) {
    const pins = (l: Lockfile) => Object.fromEntries(Object.entries(l.packages).map(([n, e]) => [n, e.version]));
    return {
      action: `lock.${change.action}`,
      target_kind: "lock",
      target: "plugins",
      from: { revision: before.revision, packages: pins(before) },
      to: { revision: after.revision, packages: pins(after) },
    };
  }
  const pin = (l: Lockfile) => {
    const e = l.packages[name];
    return e ? { version: e.version, specifier: e.specifier, integrity: e.integrity } : null;
  };
  return {
    action: `package.${change.action}`,
    target_kind: "package",
    target: name,
    from: pin(before),
    to: pin(after),
  };
}

/** {@linkcode LockState} on the graph store's {@linkcode LockStore}. */
export class StoreLockState implements LockState {
  /** Always `the graph store`. */
  readonly where = "the graph store";
  #store: LockStore;
  #audit: AuditLog;

  /**
   * Wraps the deployment's lock store.
   *
   * @param store `store.control.deployment(name).lock` of the graph store.
   * @param audit The shared audit log (its replica id is written on each revision).
   */
  constructor(store: LockStore, audit: AuditLog) {
    this.#store = store;
    this.#audit = audit;
  }

  /** The current revision number (one cheap read; replicas poll it). */
  revision(): Promise<number> {
    return this.#store.revision();
  }

  /** The current lockfile (revision 0 and no packages while the store holds none). */
  async read(): Promise<Lockfile> {
    const row = await this.#store.current();
    return row ? toHistory(row).lockfile : emptyLockfile();
  }

  /** One kept revision, or undefined. */
  async get(revision: number): Promise<HistoryRecord | undefined> {
    const row = await this.#store.get(revision);
    return row ? toHistory(row) : undefined;
  }

  /** The kept revisions, newest first (the latest 1000). */
  async list(): Promise<HistoryRecord[]> {
    return (await this.#store.list({ limit: 1000 })).map(toHistory);
  }

  /** Compare-and-set on the revision read; on a lost race the change runs again on the newer lockfile. */
  async update(mutate: (draft: Lockfile) => Change | Promise<Change>, who: Provenance): Promise<Committed> {
    for (let attempt = 1;; attempt++) {
      const before = await this.read();
      const draft = structuredClone(before);
      const change = await mutate(draft);
      const after = validateLockfile(draft, "the lock state (after the change)");
      after.revision = Math.max(before.revision + 1, change.revision ?? 0);
      const at = who.now().toISOString();
      const replica = this.#audit.replica;
      const audit = auditOf(change, before, after);
      try {
        await this.#store.commit(before.revision, {
          revision: after.revision,
          document: serializeLockfile(after),
          written_at: at,
          written_by: who.actor,
          request_id: who.requestId,
          action: change.action,
          package: change.package,
          from_revision: before.revision,
          summary: change.summary,
          replica,
        }, {
          ...audit,
          at,
          replica,
          actor: who.actor,
          request_id: who.requestId,
          detail: { ...change.detail, from_revision: before.revision, to_revision: after.revision },
        });
        log.info("lock state changed", {
          action: change.action,
          package: change.package,
          from_revision: before.revision,
          to_revision: after.revision,
          actor: who.actor,
          attempt,
        });
        return { lockfile: after, change, fromRevision: before.revision };
      } catch (error) {
        if (!(error instanceof RevisionConflictError)) throw error;
        if (attempt >= ATTEMPTS) {
          throw new ConflictError(
            `Cannot change the lock state: other changes kept committing first (${ATTEMPTS} attempts); retry it`,
            { cause: error, extra: error.extra },
          );
        }
        log.info("lock state moved meanwhile; applying the change again", {
          expected: error.expected,
          actual: error.actual,
          attempt,
        });
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(500, 20 * attempt)));
      }
    }
  }
}
