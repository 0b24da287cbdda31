/**
 * The audit log of package changes: who changed the lockfile, what they
 * did, and from which revision to which. One JSON object per line in
 * `<dataDir>/audit.jsonl`, appended and fsynced by the writer while it holds
 * the lockfile's lock (so lines are in revision order), before the new
 * lockfile is renamed into place.
 *
 * A writer that dies between its append and its rename leaves a line for a
 * revision that never happened. Readers therefore keep, per lockfile and
 * `to_revision`, only the last line (the next writer of that revision
 * appends after it), and drop lines beyond the lockfile's current revision.
 * A torn last line (a crash mid-append) is skipped.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { log } from "../logger.ts";

/** What a change did. */
export type AuditAction = "install" | "upgrade" | "remove" | "rollback" | "import";

/** One change to the lockfile. */
export interface AuditRecord {
  /** ISO 8601 time of the change. */
  at: string;
  /** Who: `admin-api:<token subject>` or `cli:<user>`. */
  actor: string;
  /** The HTTP request id, when the change came through the admin API. */
  request_id: string | null;
  /** What the change did. */
  action: AuditAction;
  /** The package changed; null for a rollback (which may change several). */
  package: string | null;
  /** The lockfile revision before the change. */
  from_revision: number;
  /** The lockfile revision the change wrote. */
  to_revision: number;
  /** Action-specific facts an operator reads: versions, specifiers, disabled Plugin nodes. */
  detail: Record<string, unknown>;
  /** The absolute path of the lockfile changed. */
  lockfile: string;
}

/** Options of {@linkcode AuditLog.read}. */
export interface AuditReadOptions {
  /** Only records of this lockfile (absolute path). */
  lockfile: string;
  /** The lockfile's current revision: later records never happened. */
  currentRevision: number;
}

const encoder = new TextEncoder();

function isRecord(value: unknown): value is AuditRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.at === "string" && typeof r.actor === "string" && typeof r.action === "string" &&
    typeof r.from_revision === "number" && typeof r.to_revision === "number" && typeof r.lockfile === "string";
}

/**
 * An append-only audit log in one file.
 *
 * @example
 * ```ts
 * const audit = new AuditLog("./data/audit.jsonl");
 * const items = await audit.read({ lockfile: "/srv/plugins.lock.json", currentRevision: 7 });
 * ```
 */
export class AuditLog {
  /** The log file's path. */
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();

  /**
   * Opens the log lazily: nothing is read or created until used.
   *
   * @param path The log file (created with its directory on first append).
   */
  constructor(path: string) {
    this.path = path;
  }

  /**
   * The audit log of a data directory.
   *
   * @param dataDir The service's data directory.
   * @returns Its `audit.jsonl`.
   */
  static inDataDir(dataDir: string): AuditLog {
    return new AuditLog(join(resolve(dataDir), "audit.jsonl"));
  }

  /**
   * Appends one record as one line and fsyncs it. Appends from this process
   * are serialised; callers across processes hold the lockfile's lock.
   *
   * @param record The change.
   */
  append(record: AuditRecord): Promise<void> {
    const run = this.#tail.catch(() => {}).then(async () => {
      await Deno.mkdir(dirname(this.path), { recursive: true });
      using file = await Deno.open(this.path, { append: true, create: true, mode: 0o640 });
      const bytes = encoder.encode(JSON.stringify(record) + "\n");
      let offset = 0;
      while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
      await file.sync();
    });
    this.#tail = run;
    return run;
  }

  /**
   * Every change that happened to one lockfile, newest first.
   *
   * @param options The lockfile and its current revision.
   * @returns The records, at most one per `to_revision`.
   */
  async read(options: AuditReadOptions): Promise<AuditRecord[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const byRevision = new Map<number, AuditRecord>();
    let skipped = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      if (!isRecord(value)) {
        skipped++;
        continue;
      }
      if (value.lockfile !== options.lockfile || value.to_revision > options.currentRevision) continue;
      byRevision.set(value.to_revision, value);
    }
    if (skipped > 0) log.warn("audit log lines skipped (torn or not records)", { path: this.path, skipped });
    return [...byRevision.values()].sort((a, b) => b.to_revision - a.to_revision);
  }
}
