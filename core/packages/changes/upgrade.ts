/**
 * Moving an installed package to another version, with a diff of what
 * changes.
 *
 * @module
 */

import semver from "semver";
import { ConflictError, PackageError, ValidationError } from "../../errors.ts";
import { isLocalSpecifier, type LockEntry, type Lockfile } from "../lockfile.ts";
import type { PermissionPreview } from "../permissions.ts";
import { checkEntries, type EntryStatus } from "../registry.ts";
import type { ResolvedPackage } from "../store.ts";
import { installedEntry, refuseIfUsed } from "./_checks.ts";
import {
  changeContext,
  type ChangeOptions,
  commit,
  lockOf,
  type PluginNodeGraph,
  prepare,
  refuseClash,
  whileHeld,
} from "./commit.ts";
import { diffPackages, type PackageDiff } from "./diff.ts";

/** Options of {@linkcode upgradePackage}. */
export interface UpgradePackageOptions extends ChangeOptions {
  /** Finds Plugin nodes using entry points the new version drops. */
  graph: PluginNodeGraph;
  /** The installed version's manifests when the caller already has them (the running registry). */
  knownManifests?: (name: string, integrity: string) => Map<string, unknown> | undefined;
}

/** What {@linkcode upgradePackage} wrote. */
export interface UpgradePackageResult {
  /** The package name. */
  name: string;
  /** The lock entry replaced. */
  previous: LockEntry;
  /** The lock entry written. */
  entry: LockEntry;
  /** What changes between the two. */
  diff: PackageDiff;
  /** The lockfile as written. */
  lockfile: Lockfile;
  /** The new version's entry points as inspected. */
  entries: EntryStatus[];
  /** The permissions accepted, when the change was given a permission check. */
  permissions?: PermissionPreview;
}

async function installedManifests(
  name: string,
  entry: LockEntry,
  options: UpgradePackageOptions,
): Promise<{ manifests: Map<string, unknown> } | { reason: string }> {
  const known = options.knownManifests?.(name, entry.integrity);
  if (known) return { manifests: known };
  const { inspect } = changeContext(options);
  const read = async (bundlePath: string) => {
    const checked = checkEntries(name, await inspect(bundlePath));
    if (!checked.ok) return { reason: checked.reason };
    return { manifests: new Map(checked.entries.filter((e) => e.slug).map((e) => [e.slug!, e.manifest])) };
  };
  try {
    return await read((await options.store.ensure(name, entry)).bundlePath);
  } catch (error) {
    // A local package's directory already holds the new version, so it no longer matches its lock entry; the
    // bundle built from the old content is still in the store, verified against the store's record of it.
    const bundle = await options.store.cachedBundle(name, entry);
    return bundle ? await read(bundle) : { reason: (error as Error).message };
  }
}

/** Resolves the version an upgrade moves to: from the registry, or from a local package's directory. */
async function resolveUpgrade(
  previous: LockEntry & { name: string },
  options: UpgradePackageOptions & { versionOrRange: string },
): Promise<ResolvedPackage> {
  const { name, specifier } = previous;
  const { versionOrRange } = options;
  const local = isLocalSpecifier(specifier);
  const spec = local ? options.store.localDir(specifier) : `${specifier.slice(0, 4)}${name}@${versionOrRange}`;
  options.onProgress?.({ package: name, phase: "resolve", message: `resolving ${local ? specifier : spec}` });
  const resolved = await options.store.resolve(spec);
  if (resolved.name !== name) {
    throw new PackageError("refused", `${specifier} now holds package "${resolved.name}", not "${name}"`, {
      extra: { package: name },
    });
  }
  if (local && !semver.satisfies(resolved.version, versionOrRange)) {
    throw new PackageError(
      "refused",
      `The local package ${name} at ${specifier} has version ${resolved.version}, which is not "${versionOrRange}"`,
      { extra: { package: name, version: resolved.version } },
    );
  }
  options.onProgress?.({ package: name, phase: "resolve", message: `resolved to ${resolved.specifier}` });
  return resolved;
}

/**
 * Moves an installed package to another version: the same checks as an
 * install, plus a diff of what changes, and a refusal while Plugin nodes use
 * an entry point the new version drops.
 *
 * @param name The installed package's name.
 * @param versionOrRange An exact version or a range (`^2`, `2.1.0`). A local package is re-locked from its
 *   directory, whose version must satisfy the range.
 * @param options Lockfile, store, graph, provenance.
 * @returns Both entries and the diff.
 * @throws {PackageError} `not_installed`; `already_installed` when the chosen version is the installed content;
 *   `in_use` when a dropped entry point is used; `refused`, `too_young`, `registry` as for an install.
 * @throws {ValidationError} When `versionOrRange` is not a version or range.
 * @throws {ConflictError} When the package changed while this upgrade was being prepared.
 */
export async function upgradePackage(
  name: string,
  versionOrRange: string,
  options: UpgradePackageOptions,
): Promise<UpgradePackageResult> {
  const { now, actor } = changeContext(options);
  if (semver.validRange(versionOrRange) === null) {
    throw new ValidationError(`"${versionOrRange}" is not a version or semver range`, [
      { pointer: "/version", message: "must be an exact version (2.1.0) or a range (^2)" },
    ]);
  }
  const current = await lockOf(options).read();
  const previous = installedEntry(current, name);
  const resolved = await resolveUpgrade({ ...previous, name }, { ...options, versionOrRange });
  const prepared = await prepare(resolved, options);
  return await whileHeld(prepared, async () => {
    if (prepared.stored.integrity === previous.integrity && resolved.specifier === previous.specifier) {
      throw new PackageError(
        "already_installed",
        `Package "${name}" is already installed at ${previous.version} (${previous.specifier}) with this content`,
        { extra: { package: name, specifier: previous.specifier } },
      );
    }
    refuseClash(current, prepared);
    const old = await installedManifests(name, previous, options);
    const after = new Map(prepared.entries.map((e) => [e.slug!, e.manifest]));
    const diff = diffPackages("manifests" in old ? old.manifests : undefined, after, {
      from: { version: previous.version, specifier: previous.specifier, integrity: previous.integrity },
      to: { version: resolved.version, specifier: resolved.specifier, integrity: prepared.stored.integrity },
      fromSlugs: previous.entry_points,
      ...("reason" in old ? { previousUnavailable: old.reason } : {}),
    });
    const refuseDropped = async (entryPoints: string[]) => {
      const dropped = entryPoints.filter((s) => !prepared.slugs.includes(s));
      await refuseIfUsed(dropped, {
        graph: options.graph,
        name,
        message: (nodes) =>
          `Cannot upgrade "${name}" to ${resolved.version}: it drops entry point ${dropped.join(", ")}, which ` +
          `Plugin nodes use: ${nodes}. Remove or re-point those nodes first`,
      });
    };
    await refuseDropped(previous.entry_points);
    const permissions = options.checkPermissions?.({
      name,
      version: resolved.version,
      manifests: after,
      ...("manifests" in old ? { previous: old.manifests } : {}),
    });
    const entry: LockEntry = {
      specifier: resolved.specifier,
      version: resolved.version,
      integrity: prepared.stored.integrity,
      entry_points: prepared.slugs,
      source: previous.source,
      added_at: now().toISOString(),
      added_by: actor,
    };
    const { lockfile } = await commit(options, async (draft) => {
      const present = installedEntry(draft, name);
      if (present.integrity !== previous.integrity) {
        throw new ConflictError(
          `Package "${name}" changed to ${present.specifier} while this upgrade was prepared; look and try again`,
        );
      }
      refuseClash(draft, prepared);
      await refuseDropped(present.entry_points);
      draft.packages[name] = entry;
      return {
        action: "upgrade",
        package: name,
        summary: `upgrade ${name} ${previous.version} → ${resolved.version}`,
        detail: {
          from: { specifier: previous.specifier, version: previous.version, integrity: previous.integrity },
          to: { specifier: entry.specifier, version: entry.version, integrity: entry.integrity },
          entry_points: diff.entry_points,
        },
      };
    });
    return {
      name,
      previous,
      entry,
      diff,
      lockfile,
      entries: prepared.entries,
      ...(permissions ? { permissions } : {}),
    };
  });
}
