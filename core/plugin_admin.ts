/**
 * Package administration shared by the `plugins` CLI and the admin API:
 * installing a package into the lockfile (resolve, fetch, verify, inspect,
 * refuse, then write) and listing what the lockfile loads.
 *
 * @module
 */

import { PackageError } from "./errors.ts";
import { type LockEntry, type Lockfile, type LockSource, readLockfile, updateLockfile } from "./lockfile.ts";
import type { PackageStore, ProgressCallback } from "./package_store.ts";
import { buildRegistry, checkEntries, type EntryStatus, type InspectBundle, type Registry } from "./registry.ts";
import { inspectBundle } from "./sandbox.ts";

/** Options of {@linkcode addPackage}. */
export interface AddPackageOptions {
  /** The lockfile to change. */
  lockfilePath: string;
  /** Where packages are fetched, verified and bundled. */
  store: PackageStore;
  /** Inspects a bundle without permissions; default `inspectBundle` of `core/sandbox.ts`. */
  inspect?: InspectBundle;
  /** Where the request came from; default `{kind: "manual"}`. */
  source?: LockSource;
  /** Who asked (CLI user, token subject); default `"unknown"`. */
  addedBy?: string;
  /** Progress while fetching. */
  onProgress?: ProgressCallback;
  /** The clock. */
  now?: () => Date;
}

/** What {@linkcode addPackage} wrote. */
export interface AddPackageResult {
  name: string;
  entry: LockEntry;
  /** The lockfile as written (its new revision). */
  lockfile: Lockfile;
  /** The package's entry points as inspected. */
  entries: EntryStatus[];
}

/**
 * Installs a package: resolves the specifier (range to exact version, age
 * policy applied), fetches and verifies it, bundles it, inspects its
 * manifests without any permission, and only when every entry point is
 * valid, compatible and unique writes the lock entry atomically. Any refusal
 * leaves the lockfile exactly as it was.
 *
 * @param spec `npm:name@range`, `jsr:@scope/name@range`, or a local path (absolute or relative to the store's project root).
 * @param options Lockfile, store, inspector, provenance.
 * @returns The written entry and lockfile.
 * @throws {PackageError} kind `already_installed` when the lockfile has the package; `refused` when an entry point is
 *   invalid or incompatible, the package exports none, a slug clashes with an installed package, or verification
 *   fails (`extra.entries` lists every entry with its reason); `too_young` and `registry` from resolving and fetching.
 * @example
 * ```ts
 * await addPackage("npm:@imbi/plugin-aws@^1", { lockfilePath: "plugins.lock.json", store });
 * ```
 */
export async function addPackage(spec: string, options: AddPackageOptions): Promise<AddPackageResult> {
  const now = options.now ?? (() => new Date());
  const progress = options.onProgress;
  progress?.({ package: spec, phase: "resolve", message: `resolving ${spec}` });
  const resolved = await options.store.resolve(spec);
  const installed = (await readLockfile(options.lockfilePath)).packages[resolved.name];
  if (installed) throw alreadyInstalled(resolved.name, installed);
  progress?.({ package: resolved.name, phase: "resolve", message: `${spec} resolved to ${resolved.specifier}` });
  const stored = await options.store.fetch(resolved, progress ? { onProgress: progress } : {});
  progress?.({
    package: resolved.name,
    phase: "verify",
    message: `inspecting ${resolved.specifier} with no permissions`,
  });
  const checked = checkEntries(resolved.name, await (options.inspect ?? inspectBundle)(stored.bundlePath));
  if (!checked.ok) {
    throw new PackageError("refused", checked.reason, { extra: { package: resolved.name, entries: [] } });
  }
  const bad = checked.entries.filter((e) => e.status !== "loaded");
  if (bad.length > 0) {
    throw new PackageError(
      "refused",
      `Refusing ${resolved.specifier}: ${bad.map((e) => e.reason).join("; ")}`,
      { extra: { package: resolved.name, entries: checked.entries } },
    );
  }
  const slugs = checked.entries.map((e) => e.slug!);
  const entry: LockEntry = {
    specifier: resolved.specifier,
    version: resolved.version,
    integrity: stored.integrity,
    entry_points: slugs,
    source: options.source ?? { kind: "manual" },
    added_at: now().toISOString(),
    added_by: options.addedBy ?? "unknown",
  };
  const lockfile = await updateLockfile(options.lockfilePath, (draft) => {
    const current = draft.packages[resolved.name];
    if (current) throw alreadyInstalled(resolved.name, current);
    for (const [other, e] of Object.entries(draft.packages)) {
      const clash = e.entry_points.filter((s) => slugs.includes(s));
      if (clash.length > 0) {
        throw new PackageError(
          "refused",
          `Refusing ${resolved.specifier}: slug ${clash.map((s) => `"${s}"`).join(", ")} is already exported by ` +
            `package "${other}"; two packages exporting one slug would both be refused`,
          { extra: { package: resolved.name, clashes_with: other, slugs: clash, entries: checked.entries } },
        );
      }
    }
    draft.packages[resolved.name] = entry;
  });
  return { name: resolved.name, entry, lockfile, entries: checked.entries };
}

function alreadyInstalled(name: string, entry: LockEntry): PackageError {
  return new PackageError("already_installed", `Package "${name}" is already installed as ${entry.specifier}`, {
    extra: { package: name, specifier: entry.specifier },
  });
}

/** Options of {@linkcode listPackages}. */
export interface ListPackagesOptions {
  lockfilePath: string;
  store: PackageStore;
  /** Inspects a bundle without permissions; default `inspectBundle` of `core/sandbox.ts`. */
  inspect?: InspectBundle;
  onProgress?: ProgressCallback;
}

/**
 * Builds the registry the lockfile describes, for listing every package and
 * entry point with its status and reason (a cold cache is fetched and verified).
 *
 * @param options Lockfile, store, inspector.
 * @returns The registry snapshot.
 * @throws {SyntaxError} When the lockfile is invalid.
 */
export async function listPackages(options: ListPackagesOptions): Promise<Registry> {
  const lockfile = await readLockfile(options.lockfilePath);
  return await buildRegistry(lockfile, {
    store: options.store,
    inspect: options.inspect ?? inspectBundle,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
