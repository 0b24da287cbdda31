/**
 * `plugins.lock.json` as the import and export format of the lock state in
 * the graph store (`store_lock_state.ts`), so a git-driven deploy and
 * installs through the admin API never silently overwrite each other:
 *
 * - **Export** writes the store's current revision to the file (same format,
 *   same revision number), atomically.
 * - **Import** replaces the store's packages with the file's as a new
 *   revision when the store is empty, or when the file's revision is above
 *   the store's (the file was exported from the store's current revision or
 *   later, then edited). A file whose revision is not above the store's,
 *   with different packages, means the store has changes the file lacks (an
 *   admin install, a rollback): refused with a 409 naming both revisions,
 *   unless forced. A file with the store's packages imports nothing. An empty
 *   store takes the file's revision number too, so the numbers go on from the
 *   file's.
 * - The service imports the file by itself only on an empty store (the
 *   first start); after that, only `deno task plugins import [--force]` does.
 *
 * @module
 */

import { ConflictError } from "../errors.ts";
import { fileLockfileIo, type Lockfile, readLockfile, serializeLockfile } from "./lockfile.ts";
import type { LockState, Provenance } from "./lock_state.ts";

/** What {@linkcode importLockfile} did. */
export interface ImportResult {
  /** `imported`, or `unchanged` when the store already held the file's packages. */
  outcome: "imported" | "unchanged";
  /** The store's revision before. */
  from_revision: number;
  /** The store's revision after. */
  revision: number;
}

/** Options of {@linkcode importLockfile}. */
export interface ImportOptions extends Provenance {
  /** Import even when the store has changes the file lacks (they are replaced; history keeps them). */
  force?: boolean;
  /** Import only while the store is empty (the service's first start). */
  onlyIfEmpty?: boolean;
}

function samePackages(a: Lockfile, b: Lockfile): boolean {
  return serializeLockfile({ ...a, revision: 0 }) === serializeLockfile({ ...b, revision: 0 });
}

/** Thrown inside the update to end it without writing. */
class NothingToImport extends Error {}

/**
 * Imports a lockfile file into the lock state (the rules are in the module doc).
 *
 * @param lock The store's lock state.
 * @param path The lockfile file.
 * @param options Who imports, `force`, `onlyIfEmpty`.
 * @returns What happened.
 * @throws {ConflictError} When the store has changes the file lacks and `force` is not given.
 * @throws {SyntaxError} When the file is not a valid lockfile.
 */
export async function importLockfile(lock: LockState, path: string, options: ImportOptions): Promise<ImportResult> {
  const file = await readLockfile(path);
  let seen = 0;
  try {
    const written = await lock.update((draft) => {
      seen = draft.revision;
      const empty = draft.revision === 0;
      if ((!empty && samePackages(draft, file)) || (options.onlyIfEmpty && !empty)) throw new NothingToImport();
      if (empty && file.revision === 0) throw new NothingToImport();
      if (draft.revision > 0 && file.revision <= draft.revision && !options.force) {
        throw new ConflictError(
          `Cannot import ${path}: the graph store is at revision ${draft.revision} and the file at ` +
            `${file.revision}, so the store has changes the file lacks (admin installs or rollbacks). Export the ` +
            "store (deno task plugins export), merge, and import again, or import with --force to replace them",
          { extra: { store_revision: draft.revision, file_revision: file.revision } },
        );
      }
      draft.packages = structuredClone(file.packages);
      return {
        action: "import",
        package: null,
        summary: `import ${path} (file revision ${file.revision}, ${Object.keys(file.packages).length} packages)` +
          (options.force ? " with --force" : ""),
        detail: { file_revision: file.revision, force: options.force === true },
        revision: file.revision,
      };
    }, options);
    return { outcome: "imported", from_revision: written.fromRevision, revision: written.lockfile.revision };
  } catch (error) {
    if (error instanceof NothingToImport) return { outcome: "unchanged", from_revision: seen, revision: seen };
    throw error;
  }
}

/**
 * Writes the lock state's current revision to a file, atomically.
 *
 * @param lock The store's lock state.
 * @param path The file to write.
 * @returns The lockfile written.
 */
export async function exportLockfile(lock: LockState, path: string): Promise<Lockfile> {
  const current = await lock.read();
  await fileLockfileIo.writeAtomic(path, serializeLockfile(current));
  return current;
}
