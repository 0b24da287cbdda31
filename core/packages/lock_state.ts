/**
 * Where the lock state lives, behind one interface the package changes use
 * (`changes/`): {@linkcode FileLockState}, `plugins.lock.json` with its
 * history directory and audit file (the CLI's git workflow), and
 * `StoreLockState` (`store_lock_state.ts`), the graph store every replica of
 * the service shares (the service's truth). Both apply a change to the
 * current lockfile, grow the revision by one and keep who, when and why;
 * neither loses a concurrent write.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { AuditLog } from "./audit.ts";
import { type HistoryAction, type HistoryRecord, LockfileHistory } from "./history.ts";
import {
  fileLockfileIo,
  type Lockfile,
  type LockfileIo,
  parseLockfile,
  readLockfile,
  updateLockfile,
} from "./lockfile.ts";

/** What one committed change did, for history and audit. */
export interface Change {
  /** What produced the revision. */
  action: Exclude<HistoryAction, "external">;
  /** The package changed; null when several may be (a rollback, an import). */
  package: string | null;
  /** One line for the history listing. */
  summary: string;
  /** Facts an operator reads: versions, specifiers, disabled Plugin nodes. */
  detail: Record<string, unknown>;
  /** The revision to write; default the current one plus one (an import may jump to the file's). */
  revision?: number;
}

/** Who makes a change. */
export interface Provenance {
  /** `cli:<user>`, `admin-api:<subject>`, `startup:<replica>`. */
  actor: string;
  /** The admin API's request id. */
  requestId: string | null;
  /** The clock. */
  now: () => Date;
}

/** What {@linkcode LockState.update} wrote. */
export interface Committed {
  /** The lockfile as written (its new revision). */
  lockfile: Lockfile;
  /** What the change said it did. */
  change: Change;
  /** The revision it replaced. */
  fromRevision: number;
}

/** The lock state's storage, as package changes use it. */
export interface LockState {
  /** Where it lives, for messages: a file path, or `the graph store`. */
  readonly where: string;
  /** The current lockfile (revision 0 and no packages while there is none). */
  read(): Promise<Lockfile>;
  /** One kept revision, or undefined. */
  get(revision: number): Promise<HistoryRecord | undefined>;
  /** Every kept revision, newest first; the current one first. */
  list(): Promise<HistoryRecord[]>;
  /**
   * Applies `mutate` to the current lockfile and writes the result as the next revision, with its history record
   * and audit record. `mutate` may run more than once (on a lost race it runs again on the newer lockfile); it
   * repeats its checks on the draft it gets.
   *
   * @throws Whatever `mutate` throws, with nothing written; `ConflictError` when the writes of others keep winning.
   */
  update(mutate: (draft: Lockfile) => Change | Promise<Change>, who: Provenance): Promise<Committed>;
}

/**
 * The lock state in `plugins.lock.json`: written atomically under its lock
 * file, with the revision's record in `plugins.lock.history/` and a line in
 * `<dataDir>/audit.jsonl` written under the lock just before the rename.
 */
export class FileLockState implements LockState {
  /** The lockfile's path. */
  readonly where: string;
  #history: LockfileHistory;
  #audit: AuditLog | undefined;

  /**
   * Opens the file lazily: nothing is read until used.
   *
   * @param lockfilePath The lockfile.
   * @param options Its history (default beside it) and the audit file (needed to write).
   */
  constructor(lockfilePath: string, options: { history?: LockfileHistory; audit?: AuditLog } = {}) {
    this.where = lockfilePath;
    this.#history = options.history ?? LockfileHistory.beside(lockfilePath);
    this.#audit = options.audit;
  }

  /** The history directory. */
  get historyDir(): string {
    return this.#history.dir;
  }

  /** The file as it is (an empty lockfile when it does not exist). */
  read(): Promise<Lockfile> {
    return readLockfile(this.where);
  }

  /** One revision kept in the history directory (never one beyond the file's). */
  async get(revision: number): Promise<HistoryRecord | undefined> {
    const current = await this.read();
    if (revision > current.revision) return undefined;
    return revision === current.revision ? (await this.#history.list(current))[0] : await this.#history.get(revision);
  }

  /** Every kept revision, newest first. */
  async list(): Promise<HistoryRecord[]> {
    return await this.#history.list(await this.read());
  }

  /** The change written under the file's lock, history and audit first, then the rename. */
  async update(mutate: (draft: Lockfile) => Change | Promise<Change>, who: Provenance): Promise<Committed> {
    const path = this.where;
    const history = this.#history;
    const audit = this.#audit;
    if (!audit) throw new TypeError(`Cannot change ${path}: no audit log was given`);
    let before: Lockfile | undefined;
    let change: Change | undefined;
    const io: LockfileIo = {
      read: (p) => fileLockfileIo.read(p),
      lock: (p, o) => fileLockfileIo.lock(p, o),
      async writeAtomic(p, text) {
        const after = parseLockfile(text, p);
        const at = who.now().toISOString();
        await history.reconcile(before!);
        await history.write({
          revision: after.revision,
          written_at: at,
          written_by: who.actor,
          request_id: who.requestId,
          action: change!.action,
          package: change!.package,
          from_revision: before!.revision,
          summary: change!.summary,
          lockfile: after,
        });
        await audit.append({
          at,
          actor: who.actor,
          request_id: who.requestId,
          action: change!.action,
          package: change!.package,
          from_revision: before!.revision,
          to_revision: after.revision,
          detail: change!.detail,
          lockfile: resolvePath(p),
        });
        await fileLockfileIo.writeAtomic(p, text);
      },
    };
    const lockfile = await updateLockfile(path, async (draft) => {
      before = structuredClone(draft);
      change = await mutate(draft);
    }, { io });
    return { lockfile, change: change!, fromRevision: before!.revision };
  }
}
