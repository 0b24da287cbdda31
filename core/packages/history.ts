/**
 * Previous revisions of `plugins.lock.json`, kept beside it in
 * `plugins.lock.history/` (one file per revision, `r00000042.json`) so an
 * operator can see who changed what and roll back.
 *
 * Records are written by the lockfile's writer while it holds the lock,
 * before the new lockfile is renamed into place. A writer that dies in
 * between leaves a record for a revision that never happened; it is never
 * listed (it is beyond the current revision) and the next writer of that
 * revision replaces it. A lockfile revision written without a record (the
 * file shipped with an image, a hand edit, a tool that bypassed the admin
 * code) is snapshotted as `external` by the next admin change.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { type Lockfile, serializeLockfile, validateLockfile } from "./lockfile.ts";
import { log } from "../logger.ts";

/** What produced a revision: an admin change, an import of a lockfile file, or `external` (found on disk without a record). */
export type HistoryAction = "install" | "upgrade" | "remove" | "rollback" | "import" | "external";

/** One revision of the lockfile. */
export interface HistoryRecord {
  /** The lockfile revision. */
  revision: number;
  /** ISO 8601 time it was written; null for an `external` snapshot. */
  written_at: string | null;
  /** Who wrote it (`admin-api:<subject>`, `cli:<user>`); null for an `external` snapshot. */
  written_by: string | null;
  /** The admin API request that wrote it. */
  request_id: string | null;
  /** What produced it. */
  action: HistoryAction;
  /** The package changed, when one was. */
  package: string | null;
  /** The revision it replaced; null for an `external` snapshot. */
  from_revision: number | null;
  /** One line for an operator, e.g. `install @acme/vault 1.2.0`. */
  summary: string;
  /** The whole lockfile of that revision. */
  lockfile: Lockfile;
}

function fileName(revision: number): string {
  return `r${String(revision).padStart(8, "0")}.json`;
}

function sameContent(a: Lockfile, b: Lockfile): boolean {
  return serializeLockfile(a) === serializeLockfile(b);
}

/**
 * The revision history of one lockfile.
 *
 * @example
 * ```ts
 * const history = LockfileHistory.beside("./plugins.lock.json"); // ./plugins.lock.history/
 * const revisions = await history.list(await readLockfile("./plugins.lock.json"));
 * ```
 */
export class LockfileHistory {
  /** The directory holding one file per revision. */
  readonly dir: string;

  /**
   * Opens the history lazily: nothing is read or created until used.
   *
   * @param dir The history directory (created on first write).
   */
  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * The history kept beside a lockfile: `plugins.lock.json` → `plugins.lock.history/`.
   *
   * @param lockfilePath The lockfile's path.
   * @returns Its history.
   */
  static beside(lockfilePath: string): LockfileHistory {
    const base = basename(lockfilePath).replace(/\.json$/, "");
    return new LockfileHistory(join(dirname(lockfilePath), `${base}.history`));
  }

  /**
   * Writes one revision's record atomically (temp file, fsync, rename),
   * replacing any record of the same revision.
   *
   * @param record The record.
   */
  async write(record: HistoryRecord): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const target = join(this.dir, fileName(record.revision));
    const temp = join(this.dir, `.${fileName(record.revision)}.${crypto.randomUUID()}.tmp`);
    try {
      {
        using file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
        const bytes = new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n");
        let offset = 0;
        while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
        await file.sync();
      }
      await Deno.rename(temp, target);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  /**
   * One revision's record as stored (it may be beyond the current revision
   * if its writer died; callers compare with the lockfile).
   *
   * @param revision The revision.
   * @returns The record, or undefined when none is kept or it is unreadable.
   */
  async get(revision: number): Promise<HistoryRecord | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.dir, fileName(revision)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      const raw = JSON.parse(text) as HistoryRecord;
      if (raw.revision !== revision) return undefined;
      return { ...raw, lockfile: validateLockfile(raw.lockfile, `${this.dir}/${fileName(revision)}`) };
    } catch (error) {
      log.warn("unreadable lockfile history record skipped", { dir: this.dir, revision, error: String(error) });
      return undefined;
    }
  }

  /**
   * Makes sure the history holds the lockfile as it is now: when the current
   * revision has no record, or a record whose content differs (a writer
   * died after writing it, or the file was changed by hand), an `external`
   * snapshot is written. Call it holding the lockfile's lock.
   *
   * @param current The lockfile as read under the lock.
   */
  async reconcile(current: Lockfile): Promise<void> {
    const kept = await this.get(current.revision);
    if (kept && sameContent(kept.lockfile, current)) return;
    await this.write(externalRecord(current));
  }

  /**
   * Every kept revision up to the current one, newest first. The current
   * revision is always listed, as `external` when it has no matching record.
   *
   * @param current The lockfile as it is now.
   * @returns The records.
   */
  async list(current: Lockfile): Promise<HistoryRecord[]> {
    const revisions: number[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        const match = /^r(\d{8,})\.json$/.exec(entry.name);
        if (entry.isFile && match) revisions.push(Number(match[1]));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const records: HistoryRecord[] = [];
    for (const revision of revisions.filter((r) => r < current.revision).sort((a, b) => b - a)) {
      const record = await this.get(revision);
      if (record) records.push(record);
    }
    const kept = await this.get(current.revision);
    records.unshift(kept && sameContent(kept.lockfile, current) ? kept : externalRecord(current));
    return records;
  }
}

function externalRecord(lockfile: Lockfile): HistoryRecord {
  return {
    revision: lockfile.revision,
    written_at: null,
    written_by: null,
    request_id: null,
    action: "external",
    package: null,
    from_revision: null,
    summary: `revision ${lockfile.revision} as found on disk (written without the admin API or CLI)`,
    lockfile,
  };
}
