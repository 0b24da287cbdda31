/**
 * Installing a package into the lockfile.
 *
 * @module
 */

import { PackageError } from "../../errors.ts";
import { type LockEntry, type Lockfile, type LockSource } from "../lockfile.ts";
import type { PermissionPreview } from "../permissions.ts";
import type { EntryStatus } from "../registry.ts";
import { changeContext, type ChangeOptions, commit, lockOf, prepare, refuseClash, whileHeld } from "./commit.ts";

/** Options of {@linkcode addPackage}. */
export interface AddPackageOptions extends ChangeOptions {
  /** Where the request came from; default `{kind: "manual"}`. */
  source?: LockSource;
}

/** What {@linkcode addPackage} wrote. */
export interface AddPackageResult {
  /** The package name (the lockfile key). */
  name: string;
  /** The lock entry written. */
  entry: LockEntry;
  /** The lockfile as written (its new revision). */
  lockfile: Lockfile;
  /** The package's entry points as inspected. */
  entries: EntryStatus[];
  /** The permissions accepted, when the change was given a permission check. */
  permissions?: PermissionPreview;
}

function alreadyInstalled(name: string, entry: LockEntry): PackageError {
  return new PackageError("already_installed", `Package "${name}" is already installed as ${entry.specifier}`, {
    extra: { package: name, specifier: entry.specifier },
  });
}

/**
 * Installs a package: resolves the specifier (range to exact version, age
 * policy applied), fetches and verifies it, bundles it, inspects its
 * manifests without any permission, and only when every entry point is
 * valid, compatible and unique writes the lock entry atomically. Any refusal
 * leaves the lockfile exactly as it was and the package store as it was.
 *
 * @param spec `npm:name@range`, `jsr:@scope/name@range`, or a local path (absolute or relative to the store's project root).
 * @param options Lockfile, store, inspector, provenance.
 * @returns The written entry and lockfile.
 * @throws {PackageError} kind `already_installed` when the lockfile has the package; `refused` when an entry point is
 *   invalid or incompatible, the package exports none, a slug clashes with an installed package, or verification
 *   fails (`extra.entries` lists every entry with its reason); `too_young` and `registry` from resolving and fetching;
 *   `permissions_not_accepted` from `options.checkPermissions`.
 * @example
 * ```ts
 * await addPackage("npm:@imbi/plugin-aws@^1", { lockfilePath: "plugins.lock.json", store });
 * ```
 */
export async function addPackage(spec: string, options: AddPackageOptions): Promise<AddPackageResult> {
  const { now, actor } = changeContext(options);
  const progress = options.onProgress;
  progress?.({ package: spec, phase: "resolve", message: `resolving ${spec}` });
  const resolved = await options.store.resolve(spec);
  const current = await lockOf(options).read();
  const installed = current.packages[resolved.name];
  if (installed) throw alreadyInstalled(resolved.name, installed);
  progress?.({ package: resolved.name, phase: "resolve", message: `${spec} resolved to ${resolved.specifier}` });
  const prepared = await prepare(resolved, options);
  return await whileHeld(prepared, async () => {
    refuseClash(current, prepared);
    const manifests = new Map(prepared.entries.map((e) => [e.slug!, e.manifest]));
    const permissions = options.checkPermissions?.({ name: resolved.name, version: resolved.version, manifests });
    const entry: LockEntry = {
      specifier: resolved.specifier,
      version: resolved.version,
      integrity: prepared.stored.integrity,
      entry_points: prepared.slugs,
      source: options.source ?? { kind: "manual" },
      added_at: now().toISOString(),
      added_by: actor,
    };
    const { lockfile } = await commit(options, (draft) => {
      const present = draft.packages[resolved.name];
      if (present) throw alreadyInstalled(resolved.name, present);
      refuseClash(draft, prepared);
      draft.packages[resolved.name] = entry;
      return {
        action: "install",
        package: resolved.name,
        summary: `install ${resolved.name} ${resolved.version}`,
        detail: {
          specifier: entry.specifier,
          version: entry.version,
          integrity: entry.integrity,
          entry_points: entry.entry_points,
          source: entry.source,
        },
      };
    });
    return { name: resolved.name, entry, lockfile, entries: prepared.entries, ...(permissions ? { permissions } : {}) };
  });
}
