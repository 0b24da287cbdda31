/**
 * What the changes left, read-only: every package of the lockfile with its
 * status, the kept revisions, and the audit log.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import type { AuditRecord } from "../audit.ts";
import type { HistoryRecord } from "../history.ts";
import { readLockfile } from "../lockfile.ts";
import { buildRegistry, type Registry } from "../registry.ts";
import { auditOf, changeContext, type ChangeOptions, lockOf } from "./commit.ts";

/** One lockfile revision as the admin API and CLI list it. */
export interface RevisionView {
  /** The lockfile revision. */
  revision: number;
  /** True for the revision the lockfile holds now. */
  current: boolean;
  /** When it was written; null for an `external` snapshot. */
  written_at: string | null;
  /** Who wrote it; null for an `external` snapshot. */
  written_by: string | null;
  /** The admin API request that wrote it. */
  request_id: string | null;
  /** What produced it. */
  action: HistoryRecord["action"];
  /** The package changed, when one was. */
  package: string | null;
  /** The revision it replaced. */
  from_revision: number | null;
  /** One line for an operator. */
  summary: string;
  /** Every package it pins. */
  packages: { name: string; version: string; specifier: string }[];
}

function revisionView(record: HistoryRecord, current: number): RevisionView {
  return {
    revision: record.revision,
    current: record.revision === current,
    written_at: record.written_at,
    written_by: record.written_by,
    request_id: record.request_id,
    action: record.action,
    package: record.package,
    from_revision: record.from_revision,
    summary: record.summary,
    packages: Object.entries(record.lockfile.packages).map(([name, e]) => ({
      name,
      version: e.version,
      specifier: e.specifier,
    })),
  };
}

/**
 * The lockfile's kept revisions, newest first, with who and when.
 *
 * @param options The lockfile and, optionally, its history.
 * @returns One view per kept revision; the current one is always first.
 */
export async function lockfileRevisions(
  options: Pick<ChangeOptions, "lockfilePath" | "lock" | "history">,
): Promise<RevisionView[]> {
  const lock = lockOf(options);
  const current = await lock.read();
  return (await lock.list()).map((r) => revisionView(r, current.revision));
}

/**
 * The audit log of one lockfile, newest first.
 *
 * @param options The lockfile and the log (default: the store's data directory).
 * @returns The records of changes that happened.
 */
export async function auditRecords(
  options: Pick<ChangeOptions, "lockfilePath" | "store" | "audit">,
): Promise<AuditRecord[]> {
  const audit = auditOf(options);
  const current = await readLockfile(options.lockfilePath);
  return await audit.read({ lockfile: resolvePath(options.lockfilePath), currentRevision: current.revision });
}

// ------------------------------------------------------------ list

/** Options of {@linkcode listPackages}: the lockfile, where packages are verified (and fetched when the cache is cold), the inspector, and progress of cold fetches. */
export type ListPackagesOptions = Pick<ChangeOptions, "lockfilePath" | "lock" | "store" | "inspect" | "onProgress">;

/**
 * Builds the registry the lockfile describes, for listing every package and
 * entry point with its status and reason (a cold cache is fetched and verified).
 *
 * @param options Lockfile, store, inspector.
 * @returns The registry snapshot.
 * @throws {SyntaxError} When the lockfile is invalid.
 */
export async function listPackages(options: ListPackagesOptions): Promise<Registry> {
  const lockfile = await lockOf(options).read();
  return await buildRegistry(lockfile, {
    store: options.store,
    inspect: changeContext(options).inspect,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
