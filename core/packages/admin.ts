/**
 * The admin API's package use cases (spec section 3, `routes/admin_plugins.ts`):
 * catalog, install, upgrade, remove, history and rollback. Each change goes
 * through the package changes of `changes/` (the ones the CLI uses) against
 * the lock state in the graph store (a compare-and-set on its revision, the
 * audit record in the same transaction), then reloads this replica's plugin
 * runtime so the change is live here at once; the other replicas pick the
 * new revision up by polling (`core/lock_sync.ts`).
 *
 * Changes that finish while a reload is already queued share that reload,
 * and fetching and bundling run at most `maxConcurrentFetches` at a time, so
 * a burst of admin calls neither rebuilds the registry once per call nor
 * starts one `deno bundle` per call.
 *
 * @module
 */

import semver from "semver";
import {
  type Catalog,
  type CatalogEntry,
  catalogInstallSpecifier,
  DEFAULT_CATALOG_PATH,
  readCatalog,
} from "./catalog.ts";
import { PackageError, ValidationError } from "../errors.ts";
import type { LockEntry } from "./lockfile.ts";
import type { LockState } from "./lock_state.ts";
import { log } from "../logger.ts";
import { type PermissionPreview, requireAcceptance } from "./permissions.ts";
import { EgressPolicy } from "../sandbox/egress.ts";
import { type PackageStore, parseRegistrySpecifier, type ResolvedPackage } from "./store.ts";
import {
  addPackage,
  type ChangeOptions,
  lockfileRevisions,
  type PackageChange,
  type PackageDiff,
  type PluginNodeGraph,
  removePackage,
  type RevisionView,
  rollbackLockfile,
  type TaskLimit,
  upgradePackage,
} from "./changes/mod.ts";
import { type EntryStatus, type EntryView, entryView, type InspectBundle, type Registry } from "./registry.ts";

/** Who asked, as the admin routes pass it. */
export interface AdminActor {
  /** The token subject (`admin`). */
  id: string;
  /** The request id, for the audit log. */
  requestId: string;
}

/** The part of the plugin runtime the admin service needs. */
export interface ReloadableRuntime {
  /** The registry requests use now. */
  readonly registry: Registry;
  /** Rebuilds the registry from the lockfile and swaps it in. */
  reload(): Promise<Registry>;
}

/** Options of {@linkcode PackageAdminService}. */
export interface PackageAdminServiceOptions {
  /** The lock state (the graph store's, shared by every replica). */
  lock: LockState;
  /** The package store. */
  packages: PackageStore;
  /** The plugin runtime, reloaded after every change. */
  runtime: ReloadableRuntime;
  /** The graph store: Plugin nodes using a package's entry points. */
  store: PluginNodeGraph;
  /** The catalog file; default `plugins/catalog.json` of this repository. */
  catalogPath?: string;
  /** Inspects a bundle without permissions; default `inspectBundle`. */
  inspect?: InspectBundle;
  /** The clock. */
  now?: () => Date;
  /** Packages fetched, bundled and inspected at once. Default 2. */
  maxConcurrentFetches?: number;
  /** Decides the network hosts a permission preview shows. Default: the built-in denials only. */
  egress?: EgressPolicy;
}

/** A package as the admin API returns it after a change. */
export interface PackageView {
  /** The package name. */
  name: string;
  /** The exact specifier locked. */
  specifier: string;
  /** The exact version locked. */
  version: string;
  /** The locked integrity. */
  integrity: string;
  /** Catalog entry or manual. */
  source: LockEntry["source"];
  /** When the lock entry was written. */
  added_at: string;
  /** Who wrote it. */
  added_by: string;
  /** The package's state in the registry built after the change (`pending` if another change replaced it). */
  status: "loaded" | "partial" | "failed" | "pending";
  /** Why it is not (fully) loaded; null when it is. */
  reason: string | null;
  /** Its entry points with their status. */
  entries: EntryView[];
}

/** One catalog entry with what is installed and what could be. */
export interface CatalogView extends CatalogEntry {
  /** The package name, when known without a registry. */
  package: string | null;
  /** The installed version, or null. */
  installed: { version: string; specifier: string; from_catalog: boolean } | null;
  /** The newest version in the entry's range that the age policy allows, or null when it cannot be resolved now. */
  latest_in_range: string | null;
  /** `latest_in_range` when it is newer than the installed version, else null. */
  newer_in_range: string | null;
  /** Why `latest_in_range` is null (registry unreachable, every version too young, …). */
  resolve_error: string | null;
}

function semaphore(size: number): TaskLimit {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    while (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

function packageName(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The package operations behind `/admin`: structurally the `PackageAdmin`
 * interface of `routes/_deps.ts`.
 *
 * @example
 * ```ts
 * const admin = new PackageAdminService({ lock, packages, runtime, store });
 * await admin.install({ catalog: "aws" }, { id: "admin", requestId: "r1" });
 * ```
 */
export class PackageAdminService {
  #lock: LockState;
  #packages: PackageStore;
  #runtime: ReloadableRuntime;
  #graph: PluginNodeGraph;
  #catalogPath: string;
  #inspect: InspectBundle | undefined;
  #now: () => Date;
  #limit: TaskLimit;
  #egress: EgressPolicy;
  #queuedReload: Promise<Registry> | undefined;
  #lastReload: Promise<unknown> = Promise.resolve();

  /**
   * Wires the service; nothing is read or written until a method is called.
   *
   * @param options Lockfile, stores, runtime, data directory, catalog.
   */
  constructor(options: PackageAdminServiceOptions) {
    this.#lock = options.lock;
    this.#packages = options.packages;
    this.#runtime = options.runtime;
    this.#graph = options.store;
    this.#catalogPath = options.catalogPath ?? DEFAULT_CATALOG_PATH;
    this.#inspect = options.inspect;
    this.#now = options.now ?? (() => new Date());
    this.#limit = semaphore(options.maxConcurrentFetches ?? 2);
    this.#egress = options.egress ?? new EgressPolicy();
  }

  #options(actor: AdminActor, acceptPermissions = false): ChangeOptions {
    return {
      checkPermissions: requireAcceptance(acceptPermissions, this.#egress),
      lockfilePath: this.#lock.where,
      lock: this.#lock,
      store: this.#packages,
      ...(this.#inspect ? { inspect: this.#inspect } : {}),
      addedBy: `admin-api:${actor.id}`,
      requestId: actor.requestId,
      now: this.#now,
      limit: this.#limit,
    };
  }

  /**
   * Reloads the runtime. A change that finishes while a reload is queued
   * (not started) joins it: that reload reads the lock state after the
   * change. A build this replica cannot make yet (a package it cannot fetch
   * or inspect now) leaves the registry it serves in place: the change is
   * committed, and the lock poll builds it later.
   */
  #reload(): Promise<Registry> {
    if (this.#queuedReload) return this.#queuedReload;
    const queued: Promise<Registry> = this.#lastReload.catch(() => {}).then(async () => {
      if (this.#queuedReload === queued) this.#queuedReload = undefined;
      try {
        return await this.#runtime.reload();
      } catch (error) {
        // The change is committed; this replica keeps serving its registry and the lock poll retries the build
        // (core/lock_sync.ts reports why meanwhile). The answer shows the package as pending.
        log.warn("the change is committed but this replica could not build its revision yet", {
          error: (error as Error).message,
        });
        return this.#runtime.registry;
      }
    });
    this.#queuedReload = queued;
    this.#lastReload = queued;
    return queued;
  }

  #view(name: string, entry: LockEntry, registry: Registry, inspected: EntryStatus[]): PackageView {
    const loaded = registry.packages.find((p) => p.name === name && p.integrity === entry.integrity);
    return {
      name,
      specifier: entry.specifier,
      version: entry.version,
      integrity: entry.integrity,
      source: entry.source,
      added_at: entry.added_at,
      added_by: entry.added_by,
      status: loaded?.status ?? "pending",
      reason: loaded?.reason ?? null,
      entries: (loaded?.entries ?? inspected).map(entryView),
    };
  }

  /**
   * The catalog, each entry with its installed version and the newest
   * version its range allows now.
   *
   * @returns One view per catalog entry, in catalog order.
   * @throws {SyntaxError} When the catalog file is invalid.
   */
  async catalog(): Promise<CatalogView[]> {
    const catalog = await readCatalog(this.#catalogPath);
    const lockfile = await this.#lock.read();
    return await Promise.all(catalog.entries.map(async (entry): Promise<CatalogView> => {
      const spec = catalogInstallSpecifier(catalog, entry);
      let available: ResolvedPackage | undefined;
      let error: string | null = null;
      try {
        available = await this.#packages.resolve(spec);
      } catch (e) {
        if (!(e instanceof PackageError)) throw e;
        error = e.message;
      }
      const name = parseRegistrySpecifier(spec)?.name ?? available?.name ?? null;
      const installed = name ? lockfile.packages[name] : undefined;
      const newer = installed && available && semver.valid(installed.version) &&
          semver.gt(available.version, installed.version)
        ? available.version
        : null;
      return {
        ...entry,
        package: name,
        installed: installed
          ? {
            version: installed.version,
            specifier: installed.specifier,
            from_catalog: installed.source.kind === "catalog" && installed.source.name === entry.name,
          }
          : null,
        latest_in_range: available?.version ?? null,
        newer_in_range: newer,
        resolve_error: error,
      };
    }));
  }

  async #installSpecifier(request: { catalog?: string; specifier?: string }): Promise<{
    spec: string;
    source: LockEntry["source"];
  }> {
    const hasCatalog = request.catalog !== undefined;
    if (hasCatalog === (request.specifier !== undefined)) {
      throw new ValidationError("Give exactly one of catalog and specifier", [
        { pointer: "", message: 'give either {"catalog": "<name>"} or {"specifier": "npm:<name>@<range>"}' },
      ]);
    }
    if (hasCatalog) {
      const catalog: Catalog = await readCatalog(this.#catalogPath);
      const entry = catalog.entries.find((e) => e.name === request.catalog);
      if (!entry) {
        throw new ValidationError(`No catalog entry is named "${request.catalog}"`, [{
          pointer: "/catalog",
          message: `must be one of: ${catalog.entries.map((e) => e.name).join(", ") || "(the catalog is empty)"}`,
        }]);
      }
      return { spec: catalogInstallSpecifier(catalog, entry), source: { kind: "catalog", name: entry.name } };
    }
    const spec = request.specifier!;
    const invalid = (message: string) =>
      new ValidationError(`Invalid specifier "${spec}"`, [{ pointer: "/specifier", message }]);
    let parsed;
    try {
      parsed = parseRegistrySpecifier(spec);
    } catch (error) {
      throw invalid((error as Error).message);
    }
    if (!parsed) {
      throw invalid(
        'must be "npm:<name>@<range>" or "jsr:@<scope>/<name>@<range>"; local paths are added with the CLI',
      );
    }
    if (semver.validRange(parsed.range) === null) throw invalid(`"${parsed.range}" is not a version or range`);
    return { spec, source: { kind: "manual" } };
  }

  /**
   * Installs a package by catalog name or specifier, then reloads.
   *
   * @param request `{catalog}` or `{specifier}` (npm: or jsr:, with a range), and `accept_permissions`.
   * @param actor Who asked.
   * @returns The package with its entry points as loaded, the permissions accepted, and the new revision.
   * @throws {ValidationError} Neither or both given; unknown catalog name; malformed specifier.
   * @throws {PackageError} `already_installed` (409), `refused`/`too_young` (422), `permissions_not_accepted` (422,
   *   with the preview, unless `accept_permissions` is true), `registry` (502).
   */
  async install(
    request: { catalog?: string; specifier?: string; accept_permissions?: boolean },
    actor: AdminActor,
  ): Promise<{ package: PackageView; permissions: PermissionPreview | undefined; revision: number }> {
    const started = performance.now();
    const { spec, source } = await this.#installSpecifier(request);
    const result = await addPackage(spec, { ...this.#options(actor, request.accept_permissions === true), source });
    const written = performance.now();
    const registry = await this.#reload();
    log.info("package installed", {
      package: result.name,
      version: result.entry.version,
      revision: result.lockfile.revision,
      install_ms: Math.round(written - started),
      reload_ms: Math.round(performance.now() - written),
      requestId: actor.requestId,
    });
    return {
      package: this.#view(result.name, result.entry, registry, result.entries),
      permissions: result.permissions,
      revision: result.lockfile.revision,
    };
  }

  /**
   * Moves an installed package to another version or range, then reloads.
   * Requests already running finish on the old version.
   *
   * @param name The package name (raw or percent-encoded).
   * @param request `version`, an exact version or a range, and `accept_permissions`.
   * @param actor Who asked.
   * @returns The package as loaded now, the diff between the versions, the permissions accepted, and the new
   *   revision.
   * @throws {PackageError} `not_installed` (404), `already_installed`/`in_use` (409), `refused`/`too_young` (422),
   *   `permissions_not_accepted` (422, with the preview, unless `accept_permissions` is true), `registry` (502).
   */
  async upgrade(
    name: string,
    request: { version: string; accept_permissions?: boolean },
    actor: AdminActor,
  ): Promise<{
    package: PackageView;
    from: string;
    to: string;
    diff: PackageDiff;
    permissions: PermissionPreview | undefined;
    revision: number;
  }> {
    const pkg = packageName(name);
    const result = await upgradePackage(pkg, request.version, {
      ...this.#options(actor, request.accept_permissions === true),
      graph: this.#graph,
      knownManifests: (n, integrity) => {
        const loaded = this.#runtime.registry.packages.find((p) => p.name === n && p.integrity === integrity);
        if (!loaded || loaded.status === "failed") return undefined;
        return new Map(loaded.entries.filter((e) => e.slug).map((e) => [e.slug!, e.manifest]));
      },
    });
    const registry = await this.#reload();
    return {
      package: this.#view(pkg, result.entry, registry, result.entries),
      from: result.previous.version,
      to: result.entry.version,
      diff: result.diff,
      permissions: result.permissions,
      revision: result.lockfile.revision,
    };
  }

  /**
   * Removes a package, then reloads. Refused (409, listing them) while
   * Plugin nodes use its entry points, unless `force`, which disables them.
   *
   * @param name The package name (raw or percent-encoded).
   * @param options `force`.
   * @param actor Who asked.
   * @returns What was removed, the Plugin nodes disabled, and the new revision.
   * @throws {PackageError} `not_installed` (404), `in_use` (409).
   */
  async remove(name: string, options: { force: boolean }, actor: AdminActor): Promise<{
    package: string;
    removed: { specifier: string; version: string; entry_points: string[] };
    disabled_plugin_nodes: { org: string; service: string; id: string; slug: string; plugin: string }[];
    revision: number;
  }> {
    const pkg = packageName(name);
    const result = await removePackage(pkg, { ...this.#options(actor), graph: this.#graph, force: options.force });
    await this.#reload();
    return {
      package: pkg,
      removed: {
        specifier: result.removed.specifier,
        version: result.removed.version,
        entry_points: result.removed.entry_points,
      },
      disabled_plugin_nodes: result.disabled.map((n) => ({
        org: n.org,
        service: n.service,
        id: n.id,
        slug: n.slug,
        plugin: n.plugin,
      })),
      revision: result.lockfile.revision,
    };
  }

  /**
   * The kept lockfile revisions, newest first.
   *
   * @returns Who wrote each, when, and what it holds.
   */
  async history(): Promise<RevisionView[]> {
    return await lockfileRevisions({ lockfilePath: this.#lock.where, lock: this.#lock });
  }

  /**
   * Restores a kept revision as a new revision, then reloads.
   *
   * @param revision The revision to restore.
   * @param actor Who asked.
   * @returns The restored and new revisions, the package changes, and every package's state after the reload.
   * @throws {NotFoundError} The revision is not kept.
   * @throws {ConflictError} It is the current revision.
   * @throws {PackageError} A package of that revision is not cached and cannot be fetched (`registry`, 502) or has
   *   different bytes (`refused`, 422); it drops entry points Plugin nodes use (`in_use`, 409).
   */
  async rollback(revision: number, actor: AdminActor): Promise<{
    restored_revision: number;
    from_revision: number;
    revision: number;
    changes: PackageChange[];
    packages: { name: string; version: string; status: string; reason: string | null }[];
  }> {
    const result = await rollbackLockfile(revision, { ...this.#options(actor), graph: this.#graph });
    const registry = await this.#reload();
    return {
      restored_revision: result.restored,
      from_revision: result.fromRevision,
      revision: result.lockfile.revision,
      changes: result.changes,
      packages: registry.packages.map((p) => ({
        name: p.name,
        version: p.version,
        status: p.status,
        reason: p.reason,
      })),
    };
  }
}
