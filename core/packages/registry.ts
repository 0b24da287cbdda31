/**
 * The plugin registry: an immutable snapshot, built from the lockfile, of
 * every entry point of every package with its status and reason (spec
 * section 4). A reload builds a new snapshot beside the old one; the caller
 * swaps the reference in one step.
 *
 * @module
 */

import type { LockEntry, Lockfile } from "./lockfile.ts";
import { log } from "../logger.ts";
import { parseManifest, type PluginManifest, SLUG_PATTERN } from "./manifest.ts";
import type { ProgressCallback, StoredPackage } from "./store.ts";
import type { InspectResult } from "../sandbox/inspect.ts";

/** What inspecting a bundle found (by the sandbox's `inspectBundle`). */
export type { InspectResult };

/** Runs a bundle with no permissions and returns each exported handler class's static manifest. */
export type InspectBundle = (bundlePath: string) => Promise<InspectResult>;

/** The part of `PackageStore` the registry needs. */
export interface PackageSource {
  /** Makes a locked package's verified bundle ready (see `PackageStore.ensure`). */
  ensure(name: string, entry: LockEntry, options?: { onProgress?: ProgressCallback }): Promise<StoredPackage>;
}

/** An entry point's state. */
export type EntryState = "loaded" | "incompatible" | "invalid" | "failed";

/** One entry point (handler class) of a package. */
export interface EntryStatus {
  /** The manifest's slug, or null when the manifest has none. */
  slug: string | null;
  /** Position in the package's `plugins` array. */
  index: number;
  /** The handler class's name, as exported. */
  className: string;
  /** Whether it loads, and if not, why in one word. */
  status: EntryState;
  /** Why it is not loaded (names the package, the entry and the rule); null when loaded. */
  reason: string | null;
  /** The manifest as exported (validated when loaded). */
  manifest: unknown;
}

/** An entry point as the admin API and CLI report it. */
export interface EntryView {
  /** The manifest's slug, or null when it has none. */
  slug: string | null;
  /** Position in the package's `plugins` array. */
  index: number;
  /** The handler class's exported name. */
  class_name: string;
  /** `loaded` (valid and compatible), `incompatible`, `invalid` or `failed`. */
  status: EntryState;
  /** Why it is not loaded, naming the package, the entry and the rule; null when loaded. */
  reason: string | null;
  /** The manifest's `plugin_type`, when it has one. */
  plugin_type: string | null;
  /** The manifest's display name. */
  name: string | null;
  /** The manifest's `api_version` range. */
  api_version: string | null;
}

/**
 * Reduces an inspected entry to what an operator reads.
 *
 * @param entry An entry status from inspection or the registry.
 * @returns Slug, status, reason and the manifest's headline fields.
 */
export function entryView(entry: EntryStatus): EntryView {
  const m = (entry.manifest ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return {
    slug: entry.slug,
    index: entry.index,
    class_name: entry.className,
    status: entry.status,
    reason: entry.reason,
    plugin_type: text(m.plugin_type),
    name: text(m.name),
    api_version: text(m.api_version),
  };
}

/** A package's state: `loaded` (every entry), `partial` (some refused), `failed` (none: fetch, verify or inspect failed). */
export type PackageState = "loaded" | "partial" | "failed";

/** One package of the lockfile with its entries. */
export interface PackageStatus {
  /** The package name (the lockfile key). */
  name: string;
  /** The exact specifier locked. */
  specifier: string;
  /** The exact version locked. */
  version: string;
  /** The locked integrity. */
  integrity: string;
  /** Whether every, some or none of its entry points load. */
  status: PackageState;
  /** Why the package failed or which entries were refused; null when everything loaded. */
  reason: string | null;
  /** Its entry points with their status. */
  entries: EntryStatus[];
}

/** A loaded entry point: everything the sandbox needs to run it. */
export interface LoadedEntry {
  /** The manifest's slug. */
  slug: string;
  /** The validated manifest. */
  manifest: PluginManifest;
  /** The package it comes from. */
  packageName: string;
  /** The package's exact version. */
  version: string;
  /** The package's locked specifier. */
  specifier: string;
  /** The package's locked integrity. */
  integrity: string;
  /** The package's verified `bundle.js`. */
  bundlePath: string;
  /** Position of the handler class in the bundle's `plugins` array. */
  index: number;
  /** The handler class's exported name. */
  className: string;
}

/**
 * Checks each inspected entry's manifest with {@linkcode parseManifest} and
 * refuses duplicate slugs inside the package.
 *
 * @param packageName Named in every reason.
 * @param inspection What {@linkcode InspectBundle} returned.
 * @returns Entry statuses (`loaded` meaning "valid and compatible"), or a package-level reason.
 */
export function checkEntries(
  packageName: string,
  inspection: InspectResult,
): { ok: true; entries: EntryStatus[] } | { ok: false; reason: string } {
  if (!inspection.ok) return { ok: false, reason: `Cannot load package "${packageName}": ${inspection.reason}` };
  if (inspection.entries.length === 0) {
    return {
      ok: false,
      reason: `Cannot load package "${packageName}": its \`plugins\` export lists no handler classes`,
    };
  }
  const entries = inspection.entries.map((e): EntryStatus => {
    const where = { packageName, entry: `plugins[${e.index}]${e.className ? ` (${e.className})` : ""}` };
    const result = parseManifest(e.manifest, where);
    const rawSlug = (e.manifest as { slug?: unknown } | null)?.slug;
    return {
      slug: result.ok ? result.manifest.slug : typeof rawSlug === "string" ? rawSlug : null,
      index: e.index,
      className: e.className,
      status: result.ok ? "loaded" : result.status,
      reason: result.ok ? null : result.reason,
      manifest: e.manifest,
    };
  });
  const counts = new Map<string, number>();
  for (const e of entries) if (e.status === "loaded") counts.set(e.slug!, (counts.get(e.slug!) ?? 0) + 1);
  for (const e of entries) {
    if (e.status === "loaded" && counts.get(e.slug!)! > 1) {
      e.status = "invalid";
      e.reason = `Cannot load plugin "${e.slug}" from package "${packageName}": the package exports slug "${e.slug}" ` +
        `more than once; every copy is refused`;
    }
  }
  return { ok: true, entries };
}

/** Options of {@linkcode buildRegistry}. */
export interface BuildRegistryOptions {
  /** Where verified bundles come from (a `PackageStore`). */
  store: PackageSource;
  /** Inspects a bundle without permissions (the sandbox's `inspectBundle`). */
  inspect: InspectBundle;
  /** Number of this build; grows with every reload. Default 1. */
  generation?: number;
  /** The clock. */
  now?: () => Date;
  /** Packages fetched or inspected at once. Default 4. */
  concurrency?: number;
  /** Progress of cold fetches. */
  onProgress?: ProgressCallback;
}

/**
 * An immutable snapshot of every package and entry point of one lockfile
 * revision. Requests look handlers up with {@linkcode Registry.entry}.
 */
export class Registry {
  /** Every package of the lockfile, sorted by name, with its entries. */
  readonly packages: readonly PackageStatus[];
  /** The build number. */
  readonly generation: number;
  /** The lockfile revision it was built from. */
  readonly revision: number;
  /** When it was built. */
  readonly builtAt: Date;
  #loaded: Map<string, LoadedEntry>;

  /**
   * Wraps a build's results; {@linkcode buildRegistry} is the way to make one.
   *
   * @param packages Package statuses.
   * @param loaded The loaded entries by slug.
   * @param meta Generation, revision and build time.
   */
  constructor(
    packages: PackageStatus[],
    loaded: Map<string, LoadedEntry>,
    meta: { generation: number; revision: number; builtAt: Date },
  ) {
    this.packages = Object.freeze(packages);
    this.#loaded = loaded;
    this.generation = meta.generation;
    this.revision = meta.revision;
    this.builtAt = meta.builtAt;
  }

  /**
   * A loaded entry point by slug.
   *
   * @param slug The manifest slug.
   * @returns The entry, or undefined when no loaded entry has that slug.
   */
  entry(slug: string): LoadedEntry | undefined {
    return this.#loaded.get(slug);
  }

  /** Slugs of every loaded entry point, sorted. */
  loadedSlugs(): string[] {
    return [...this.#loaded.keys()].sort();
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Builds a registry snapshot from a lockfile: ensures every package's
 * verified bundle (warm cache: no network), inspects it without
 * permissions, validates every manifest, and refuses slugs exported by more
 * than one package. One bad package never stops the others.
 *
 * @param lockfile The lockfile to load.
 * @param options Store, inspector, generation.
 * @returns The snapshot; it never throws for a package's fault.
 */
export async function buildRegistry(lockfile: Lockfile, options: BuildRegistryOptions): Promise<Registry> {
  const started = performance.now();
  const names = Object.keys(lockfile.packages).sort();
  const built = await mapLimit(names, options.concurrency ?? 4, async (name) => {
    const lock = lockfile.packages[name]!;
    const base = { name, specifier: lock.specifier, version: lock.version, integrity: lock.integrity };
    const failed = (reason: string, entries: EntryStatus[] = []): { status: PackageStatus; bundlePath: null } => ({
      status: { ...base, status: "failed", reason, entries },
      bundlePath: null,
    });
    let stored: StoredPackage;
    try {
      stored = await options.store.ensure(name, lock, options.onProgress ? { onProgress: options.onProgress } : {});
    } catch (error) {
      return failed(`Cannot load package "${name}": ${(error as Error).message}`);
    }
    let inspection: InspectResult;
    try {
      inspection = await options.inspect(stored.bundlePath);
    } catch (error) {
      inspection = { ok: false, reason: `inspecting the bundle failed: ${(error as Error).message}` };
    }
    const checked = checkEntries(name, inspection);
    if (!checked.ok) return failed(checked.reason);
    // Entries without a usable slug cannot be in the lockfile; they stay listed as invalid.
    const seen = checked.entries.flatMap((e) => (e.slug !== null && SLUG_PATTERN.test(e.slug) ? [e.slug] : []));
    if (!sameList(seen, lock.entry_points)) {
      const reason = `Cannot load package "${name}": it exports entry points [${seen.join(", ")}] but ` +
        `plugins.lock.json recorded [${lock.entry_points.join(", ")}] when it was added; re-add or upgrade it`;
      return failed(reason, checked.entries.map((e) => ({ ...e, status: "failed", reason })));
    }
    return {
      status: { ...base, status: "loaded" as PackageState, reason: null, entries: checked.entries },
      bundlePath: stored.bundlePath,
    };
  });

  // A slug exported by two packages: every copy is refused, naming all of them.
  const owners = new Map<string, string[]>();
  for (const { status } of built) {
    for (const e of status.entries) {
      if (e.status === "loaded") owners.set(e.slug!, [...(owners.get(e.slug!) ?? []), status.name]);
    }
  }
  const loaded = new Map<string, LoadedEntry>();
  for (const { status, bundlePath } of built) {
    for (const e of status.entries) {
      if (e.status !== "loaded") continue;
      const by = owners.get(e.slug!)!;
      if (by.length > 1) {
        e.status = "invalid";
        e.reason = `Cannot load plugin "${e.slug}" from package "${status.name}": slug "${e.slug}" is exported by ` +
          `packages ${by.map((p) => `"${p}"`).join(" and ")}; both are refused until one is removed`;
        continue;
      }
      loaded.set(e.slug!, {
        slug: e.slug!,
        manifest: e.manifest as PluginManifest,
        packageName: status.name,
        version: status.version,
        specifier: status.specifier,
        integrity: status.integrity,
        bundlePath: bundlePath!,
        index: e.index,
        className: e.className,
      });
    }
    if (status.status !== "failed") {
      const refused = status.entries.filter((e) => e.status !== "loaded");
      if (refused.length > 0) {
        status.status = refused.length === status.entries.length ? "failed" : "partial";
        status.reason = refused.map((e) => e.reason).join("; ");
      }
    }
  }
  const registry = new Registry(built.map((b) => b.status), loaded, {
    generation: options.generation ?? 1,
    revision: lockfile.revision,
    builtAt: (options.now ?? (() => new Date()))(),
  });
  log.info("plugin registry built", {
    generation: registry.generation,
    revision: registry.revision,
    packages: names.length,
    loaded: loaded.size,
    ms: Math.round(performance.now() - started),
  });
  return registry;
}
