/**
 * Package administration shared by the `plugins` CLI and the admin API:
 * installing, upgrading, removing and rolling back packages in the lockfile,
 * and listing what it loads. Both front ends call these functions, so a
 * change from a shell and one from the API go through the same checks and
 * leave the same history and audit trail.
 *
 * Every change follows one protocol:
 *
 * 1. resolve (range to exact version, age policy), fetch, verify and bundle
 *    into the package store, inspect every manifest in a process with no
 *    permissions, and check it: nothing is written yet;
 * 2. write the lockfile with `updateLockfile` (serialised, atomic), repeating
 *    the checks that depend on the lockfile under its lock; while the lock is
 *    held, the revision's history record and the audit line are written just
 *    before the new lockfile is renamed into place;
 * 3. on any refusal, remove the store directory the attempt created (unless
 *    another operation or a lock entry uses it): the lockfile, the history,
 *    the audit log and the package store keep no trace.
 *
 * @module
 */

import { basename, dirname, join, resolve as resolvePath } from "node:path";
import semver from "semver";
import { type AuditAction, AuditLog, type AuditRecord } from "./audit.ts";
import type { Config } from "../config.ts";
import { ConflictError, NotFoundError, PackageError, ValidationError } from "../errors.ts";
import type { PluginNodeRef } from "../graph/store.ts";
import {
  fileLockfileIo,
  isLocalSpecifier,
  type LockEntry,
  type Lockfile,
  type LockfileIo,
  type LockSource,
  parseLockfile,
  readLockfile,
  updateLockfile,
} from "./lockfile.ts";
import { type HistoryRecord, LockfileHistory } from "./history.ts";
import { checkSri } from "./integrity.ts";
import { log } from "../logger.ts";
import { PackageStore, type ProgressCallback, type ResolvedPackage, type StoredPackage } from "./store.ts";
import { buildRegistry, checkEntries, type EntryStatus, type InspectBundle, type Registry } from "./registry.ts";
import { inspectBundle } from "../sandbox/inspect.ts";

/** The part of the graph store package removal needs (Plugin nodes using an entry point). */
export interface PluginNodeGraph {
  /** Plugin nodes, in every org, whose manifest slug is one of `manifestSlugs`. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeRef[]>;
  /** Sets `enabled = false` on the given Plugin node ids. */
  disablePluginNodes(ids: string[]): Promise<void>;
}

/** Runs a task under a concurrency limit (fetching and bundling are CPU-heavy). */
export type TaskLimit = <T>(task: () => Promise<T>) => Promise<T>;

/** Options every package change takes. */
export interface AdminOptions {
  /** The lockfile to change. */
  lockfilePath: string;
  /** Where packages are fetched, verified and bundled. */
  store: PackageStore;
  /** Inspects a bundle without permissions; default `inspectBundle` of `core/sandbox.ts`. */
  inspect?: InspectBundle;
  /** Who asks (`cli:<user>`, `admin-api:<subject>`); default `"unknown"`. Written as `added_by`, in history and audit. */
  addedBy?: string;
  /** The admin API's request id, for the audit log. */
  requestId?: string;
  /** Progress while resolving, fetching, verifying and bundling. */
  onProgress?: ProgressCallback;
  /** The clock. */
  now?: () => Date;
  /** Revision history; default beside the lockfile (`plugins.lock.history/`). */
  history?: LockfileHistory;
  /** Audit log; default `audit.jsonl` in the data directory (the store's parent). */
  audit?: AuditLog;
  /** Limits concurrent fetch-and-inspect work; default none. */
  limit?: TaskLimit;
}

/** Options of {@linkcode addPackage}. */
export interface AddPackageOptions extends AdminOptions {
  /** Where the request came from; default `{kind: "manual"}`. */
  source?: LockSource;
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
  status: EntryStatus["status"];
  /** Why it is not loaded, naming the package, the entry and the rule; null when loaded. */
  reason: string | null;
  /** The manifest's `plugin_type`, when it has one. */
  plugin_type: string | null;
  /** The manifest's display name. */
  name: string | null;
  /** The manifest's `api_version` range. */
  api_version: string | null;
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
}

/**
 * The package store the configuration describes: `<IMBI_DATA_DIR>/packages`,
 * local paths relative to the lockfile's directory, the age policy and the
 * registries. The service, the CLI and the prefetch use this one function so
 * they share one cache.
 *
 * @param config The configuration.
 * @returns The store.
 */
export function packageStoreFor(config: Config): PackageStore {
  return new PackageStore(config.dataDir, {
    minPackageAgeMs: config.minPackageAgeMs,
    projectRoot: dirname(resolvePath(config.lockfilePath)),
    ...(config.npmRegistry ? { npmRegistry: config.npmRegistry } : {}),
    ...(config.jsrUrl ? { jsrUrl: config.jsrUrl } : {}),
  });
}

/**
 * The audit log of a data directory.
 *
 * @param dataDir The service's data directory.
 * @returns Its `audit.jsonl`.
 */
export function auditLogIn(dataDir: string): AuditLog {
  return new AuditLog(join(resolvePath(dataDir), "audit.jsonl"));
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

// ------------------------------------------------------------ store claims

/** In-flight operations per `name@version`: a refused attempt never deletes what another one is using. */
const claims = new Map<string, number>();

function claim(key: string): () => void {
  claims.set(key, (claims.get(key) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (claims.get(key) ?? 1) - 1;
    if (left <= 0) claims.delete(key);
    else claims.set(key, left);
  };
}

async function storeListing(store: PackageStore): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const entry of Deno.readDir(store.root)) names.add(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/** A package fetched into the store for an operation that has not committed yet. */
interface Held {
  stored: StoredPackage;
  /** Removes the store directory when this operation created it and nothing else uses it. */
  discard(): Promise<void>;
  release(): void;
}

async function hold(
  name: string,
  version: string,
  options: AdminOptions,
  get: () => Promise<StoredPackage>,
): Promise<Held> {
  const key = `${name}@${version}`;
  const release = claim(key);
  try {
    const before = await storeListing(options.store);
    const stored = await get();
    const created = !before.has(basename(stored.dir));
    return {
      stored,
      release,
      async discard() {
        if (!created || (claims.get(key) ?? 0) > 1) return;
        const lock = await readLockfile(options.lockfilePath).catch(() => undefined);
        const referenced = !lock ||
          Object.entries(lock.packages).some(([n, e]) =>
            options.store.dirName(n, e.version, e.integrity) === basename(stored.dir)
          );
        if (referenced) return;
        await Deno.remove(stored.dir, { recursive: true }).catch((error) =>
          log.warn("could not remove a refused package from the store", { dir: stored.dir, error: String(error) })
        );
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

// ------------------------------------------------------------ fetch and inspect

/** A package fetched, inspected and found valid, not yet in the lockfile. */
interface Prepared extends Held {
  resolved: ResolvedPackage;
  entries: EntryStatus[];
  slugs: string[];
}

async function prepare(resolved: ResolvedPackage, options: AdminOptions): Promise<Prepared> {
  const limit: TaskLimit = options.limit ?? ((task) => task());
  const progress = options.onProgress;
  const held = await hold(
    resolved.name,
    resolved.version,
    options,
    () => limit(() => options.store.fetch(resolved, progress ? { onProgress: progress } : {})),
  );
  try {
    progress?.({
      package: resolved.name,
      phase: "verify",
      message: `inspecting ${resolved.specifier} with no permissions`,
    });
    const inspection = await limit(() => (options.inspect ?? inspectBundle)(held.stored.bundlePath));
    const checked = checkEntries(resolved.name, inspection);
    if (!checked.ok) {
      throw new PackageError("refused", checked.reason, { extra: { package: resolved.name, entries: [] } });
    }
    const bad = checked.entries.filter((e) => e.status !== "loaded");
    if (bad.length > 0) {
      throw new PackageError("refused", `Refusing ${resolved.specifier}: ${bad.map((e) => e.reason).join("; ")}`, {
        extra: { package: resolved.name, entries: checked.entries.map(entryView) },
      });
    }
    return { ...held, resolved, entries: checked.entries, slugs: checked.entries.map((e) => e.slug!) };
  } catch (error) {
    await held.discard();
    held.release();
    throw error;
  }
}

function refuseClash(lockfile: Lockfile, name: string, specifier: string, prepared: Prepared): void {
  for (const [other, e] of Object.entries(lockfile.packages)) {
    if (other === name) continue;
    const clash = e.entry_points.filter((s) => prepared.slugs.includes(s));
    if (clash.length > 0) {
      throw new PackageError(
        "refused",
        `Refusing ${specifier}: slug ${clash.map((s) => `"${s}"`).join(", ")} is already exported by ` +
          `package "${other}"; two packages exporting one slug would both be refused`,
        { extra: { package: name, clashes_with: other, slugs: clash, entries: prepared.entries.map(entryView) } },
      );
    }
  }
}

// ------------------------------------------------------------ the write

/** What one committed change did, for history and audit. */
interface Change {
  action: AuditAction;
  package: string | null;
  summary: string;
  detail: Record<string, unknown>;
}

/**
 * Writes the lockfile through `updateLockfile`, with history and audit
 * recorded under the lock right before the rename.
 */
async function commit(
  options: AdminOptions,
  mutate: (draft: Lockfile) => Change | Promise<Change>,
): Promise<{ lockfile: Lockfile; change: Change; fromRevision: number }> {
  const path = options.lockfilePath;
  const history = options.history ?? LockfileHistory.beside(path);
  const audit = options.audit ?? auditLogIn(dirname(options.store.root));
  const now = options.now ?? (() => new Date());
  const actor = options.addedBy ?? "unknown";
  let before: Lockfile | undefined;
  let change: Change | undefined;
  const io: LockfileIo = {
    read: (p) => fileLockfileIo.read(p),
    lock: (p, o) => fileLockfileIo.lock(p, o),
    async writeAtomic(p, text) {
      const after = parseLockfile(text, p);
      const at = now().toISOString();
      await history.reconcile(before!);
      await history.write({
        revision: after.revision,
        written_at: at,
        written_by: actor,
        request_id: options.requestId ?? null,
        action: change!.action,
        package: change!.package,
        from_revision: before!.revision,
        summary: change!.summary,
        lockfile: after,
      });
      await audit.append({
        at,
        actor,
        request_id: options.requestId ?? null,
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
  log.info("lockfile changed", {
    action: change!.action,
    package: change!.package,
    from_revision: before!.revision,
    to_revision: lockfile.revision,
    actor,
  });
  return { lockfile, change: change!, fromRevision: before!.revision };
}

// ------------------------------------------------------------ install

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
  const current = await readLockfile(options.lockfilePath);
  const installed = current.packages[resolved.name];
  if (installed) throw alreadyInstalled(resolved.name, installed);
  progress?.({ package: resolved.name, phase: "resolve", message: `${spec} resolved to ${resolved.specifier}` });
  const prepared = await prepare(resolved, options);
  try {
    refuseClash(current, resolved.name, resolved.specifier, prepared);
    const entry: LockEntry = {
      specifier: resolved.specifier,
      version: resolved.version,
      integrity: prepared.stored.integrity,
      entry_points: prepared.slugs,
      source: options.source ?? { kind: "manual" },
      added_at: now().toISOString(),
      added_by: options.addedBy ?? "unknown",
    };
    const { lockfile } = await commit(options, (draft) => {
      const present = draft.packages[resolved.name];
      if (present) throw alreadyInstalled(resolved.name, present);
      refuseClash(draft, resolved.name, resolved.specifier, prepared);
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
    return { name: resolved.name, entry, lockfile, entries: prepared.entries };
  } catch (error) {
    await prepared.discard();
    throw error;
  } finally {
    prepared.release();
  }
}

function alreadyInstalled(name: string, entry: LockEntry): PackageError {
  return new PackageError("already_installed", `Package "${name}" is already installed as ${entry.specifier}`, {
    extra: { package: name, specifier: entry.specifier },
  });
}

function notInstalled(name: string): PackageError {
  return new PackageError("not_installed", `Package "${name}" is not installed`, { extra: { package: name } });
}

function inUse(message: string, name: string | null, nodes: PluginNodeRef[]): PackageError {
  return new PackageError("in_use", message, {
    extra: {
      ...(name ? { package: name } : {}),
      plugin_nodes: nodes.map((n) => ({ org: n.org, service: n.service, id: n.id, slug: n.slug, plugin: n.plugin })),
    },
  });
}

function describeNodes(nodes: PluginNodeRef[]): string {
  const shown = nodes.slice(0, 5).map((n) => `${n.org}/${n.service}/${n.slug} (${n.plugin})`).join(", ");
  return nodes.length > 5 ? `${shown} and ${nodes.length - 5} more` : shown;
}

// ------------------------------------------------------------ upgrade

/** The operator-facing facts of one entry point's manifest. */
interface EntryFacts {
  plugin_type: string | null;
  api_version: string | null;
  hosts: string[];
  credentials: { name: string; required: boolean; secret: boolean }[];
}

/** How one entry point changes between two versions. */
export interface EntryChange {
  /** The entry point. */
  slug: string;
  /** `added`, `removed`, or `changed` (only entry points with a difference are listed). */
  change: "added" | "removed" | "changed";
  /** Present when the plugin type differs. */
  plugin_type?: { from: string | null; to: string | null };
  /** Present when the `api_version` range differs. */
  api_version?: { from: string | null; to: string | null };
  /** Present when `network.hosts` entries were added or removed (as written, placeholders included). */
  network_hosts?: { added: string[]; removed: string[] };
  /** Present when credential fields were added, removed, or changed `required`/`secret`. */
  credential_fields?: { added: string[]; removed: string[]; changed: string[] };
}

/** What an upgrade changes, for an operator to read at a glance. */
export interface PackageDiff {
  /** The installed version. */
  from: { version: string; specifier: string; integrity: string };
  /** The version it moves to. */
  to: { version: string; specifier: string; integrity: string };
  /** Why the previous version's manifests could not be compared, or null. */
  previous_unavailable: string | null;
  /** Slugs added, removed and kept. */
  entry_points: { added: string[]; removed: string[]; unchanged: string[] };
  /** Per entry point with a difference. */
  changes: EntryChange[];
  /** The same, one line each. */
  summary: string[];
}

function facts(manifest: unknown): EntryFacts {
  const m = (manifest ?? {}) as Record<string, unknown>;
  const network = (m.network ?? {}) as { hosts?: unknown };
  const creds = Array.isArray(m.credentials) ? m.credentials as Record<string, unknown>[] : [];
  return {
    plugin_type: typeof m.plugin_type === "string" ? m.plugin_type : null,
    api_version: typeof m.api_version === "string" ? m.api_version : null,
    hosts: Array.isArray(network.hosts) ? network.hosts.filter((h): h is string => typeof h === "string") : [],
    credentials: creds.filter((c) => typeof c?.name === "string").map((c) => ({
      name: c.name as string,
      required: c.required !== false,
      secret: c.secret !== false,
    })),
  };
}

function credentialLabel(c: { name: string; required: boolean; secret: boolean }): string {
  return `${c.name} (${c.required ? "required" : "optional"}, ${c.secret ? "secret" : "not secret"})`;
}

/**
 * Compares the manifests of two versions of a package: entry points added
 * and removed, and per kept entry point its plugin type, `api_version`,
 * network hosts and credential fields.
 *
 * @param before Slug → manifest of the installed version (undefined when it could not be read).
 * @param after Slug → manifest of the new version.
 * @param versions The two versions, and why `before` is missing.
 * @returns The diff with one summary line per difference.
 */
export function diffPackages(
  before: Map<string, unknown> | undefined,
  after: Map<string, unknown>,
  versions: { from: PackageDiff["from"]; to: PackageDiff["to"]; previousUnavailable?: string; fromSlugs: string[] },
): PackageDiff {
  const oldSlugs = before ? [...before.keys()] : versions.fromSlugs;
  const newSlugs = [...after.keys()];
  const added = newSlugs.filter((s) => !oldSlugs.includes(s));
  const removed = oldSlugs.filter((s) => !newSlugs.includes(s));
  const unchanged = newSlugs.filter((s) => oldSlugs.includes(s));
  const summary = [`${versions.from.version} → ${versions.to.version} (${versions.to.specifier})`];
  const changes: EntryChange[] = [];
  for (const slug of added) {
    const f = facts(after.get(slug));
    changes.push({
      slug,
      change: "added",
      plugin_type: { from: null, to: f.plugin_type },
      api_version: { from: null, to: f.api_version },
      network_hosts: { added: f.hosts, removed: [] },
      credential_fields: { added: f.credentials.map((c) => c.name), removed: [], changed: [] },
    });
    summary.push(
      `entry point added: ${slug} (${f.plugin_type}, api_version ${f.api_version}, network hosts: ${
        f.hosts.join(", ") || "none"
      }, credential fields: ${f.credentials.map(credentialLabel).join(", ") || "none"})`,
    );
  }
  for (const slug of removed) {
    const f = before ? facts(before.get(slug)) : undefined;
    changes.push({
      slug,
      change: "removed",
      ...(f
        ? {
          plugin_type: { from: f.plugin_type, to: null },
          api_version: { from: f.api_version, to: null },
          network_hosts: { added: [], removed: f.hosts },
          credential_fields: { added: [], removed: f.credentials.map((c) => c.name), changed: [] },
        }
        : {}),
    });
    summary.push(`entry point removed: ${slug}`);
  }
  if (before) {
    for (const slug of unchanged) {
      const a = facts(before.get(slug));
      const b = facts(after.get(slug));
      const change: EntryChange = { slug, change: "changed" };
      if (a.plugin_type !== b.plugin_type) {
        change.plugin_type = { from: a.plugin_type, to: b.plugin_type };
        summary.push(`${slug}: plugin_type ${a.plugin_type} → ${b.plugin_type}`);
      }
      if (a.api_version !== b.api_version) {
        change.api_version = { from: a.api_version, to: b.api_version };
        summary.push(`${slug}: api_version ${a.api_version} → ${b.api_version}`);
      }
      const hostsAdded = b.hosts.filter((h) => !a.hosts.includes(h));
      const hostsRemoved = a.hosts.filter((h) => !b.hosts.includes(h));
      if (hostsAdded.length + hostsRemoved.length > 0) {
        change.network_hosts = { added: hostsAdded, removed: hostsRemoved };
        summary.push(
          `${slug}: network hosts` + (hostsAdded.length ? ` added ${hostsAdded.join(", ")}` : "") +
            (hostsAdded.length && hostsRemoved.length ? ";" : "") +
            (hostsRemoved.length ? ` removed ${hostsRemoved.join(", ")}` : ""),
        );
      }
      const names = (list: EntryFacts["credentials"]) => list.map((c) => c.name);
      const credAdded = b.credentials.filter((c) => !names(a.credentials).includes(c.name));
      const credRemoved = a.credentials.filter((c) => !names(b.credentials).includes(c.name));
      const credChanged = b.credentials.filter((c) => {
        const old = a.credentials.find((o) => o.name === c.name);
        return old !== undefined && (old.required !== c.required || old.secret !== c.secret);
      });
      if (credAdded.length + credRemoved.length + credChanged.length > 0) {
        change.credential_fields = {
          added: names(credAdded),
          removed: names(credRemoved),
          changed: names(credChanged),
        };
        const parts = [
          credAdded.length ? `added ${credAdded.map(credentialLabel).join(", ")}` : "",
          credRemoved.length ? `removed ${names(credRemoved).join(", ")}` : "",
          credChanged.length ? `now ${credChanged.map(credentialLabel).join(", ")}` : "",
        ].filter(Boolean);
        summary.push(`${slug}: credential fields ${parts.join("; ")}`);
      }
      if (Object.keys(change).length > 2) changes.push(change);
    }
  } else {
    summary.push(`the installed version's manifests could not be read: ${versions.previousUnavailable}`);
  }
  if (summary.length === 1) {
    summary.push("no change to entry points, api_version, network hosts or credential fields");
  }
  return {
    from: versions.from,
    to: versions.to,
    previous_unavailable: before ? null : versions.previousUnavailable ?? "unknown",
    entry_points: { added, removed, unchanged },
    changes,
    summary,
  };
}

/** Options of {@linkcode upgradePackage}. */
export interface UpgradePackageOptions extends AdminOptions {
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
}

async function installedManifests(
  name: string,
  entry: LockEntry,
  options: UpgradePackageOptions,
): Promise<{ manifests: Map<string, unknown> } | { reason: string }> {
  const known = options.knownManifests?.(name, entry.integrity);
  if (known) return { manifests: known };
  const inspect = async (bundlePath: string) => {
    const checked = checkEntries(name, await (options.inspect ?? inspectBundle)(bundlePath));
    if (!checked.ok) return { reason: checked.reason };
    return { manifests: new Map(checked.entries.filter((e) => e.slug).map((e) => [e.slug!, e.manifest])) };
  };
  try {
    return await inspect((await options.store.ensure(name, entry)).bundlePath);
  } catch (error) {
    // A local package's directory already holds the new version, so it no longer matches its lock entry; the
    // bundle built from the old content is still in the store, verified against the store's record of it.
    const bundle = await storedBundle(options.store, name, entry);
    return bundle ? await inspect(bundle) : { reason: (error as Error).message };
  }
}

async function storedBundle(store: PackageStore, name: string, entry: LockEntry): Promise<string | undefined> {
  const dir = join(store.root, store.dirName(name, entry.version, entry.integrity));
  try {
    const record = JSON.parse(await Deno.readTextFile(join(dir, "store.json")));
    if (record.integrity !== entry.integrity || typeof record.bundle_integrity !== "string") return undefined;
    const check = await checkSri(await Deno.readFile(join(dir, "bundle.js")), record.bundle_integrity);
    return check.ok ? join(dir, "bundle.js") : undefined;
  } catch {
    return undefined;
  }
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
  const now = options.now ?? (() => new Date());
  if (semver.validRange(versionOrRange) === null) {
    throw new ValidationError(`"${versionOrRange}" is not a version or semver range`, [
      { pointer: "/version", message: "must be an exact version (2.1.0) or a range (^2)" },
    ]);
  }
  const current = await readLockfile(options.lockfilePath);
  const previous = current.packages[name];
  if (!previous) throw notInstalled(name);
  const local = isLocalSpecifier(previous.specifier);
  const spec = local
    ? options.store.localDir(previous.specifier)
    : `${previous.specifier.slice(0, 4)}${name}@${versionOrRange}`;
  options.onProgress?.({ package: name, phase: "resolve", message: `resolving ${local ? previous.specifier : spec}` });
  const resolved = await options.store.resolve(spec);
  if (resolved.name !== name) {
    throw new PackageError("refused", `${previous.specifier} now holds package "${resolved.name}", not "${name}"`, {
      extra: { package: name },
    });
  }
  if (local && !semver.satisfies(resolved.version, versionOrRange)) {
    throw new PackageError(
      "refused",
      `The local package ${name} at ${previous.specifier} has version ${resolved.version}, which is not "${versionOrRange}"`,
      { extra: { package: name, version: resolved.version } },
    );
  }
  options.onProgress?.({ package: name, phase: "resolve", message: `resolved to ${resolved.specifier}` });
  const prepared = await prepare(resolved, options);
  try {
    if (prepared.stored.integrity === previous.integrity && resolved.specifier === previous.specifier) {
      throw new PackageError(
        "already_installed",
        `Package "${name}" is already installed at ${previous.version} (${previous.specifier}) with this content`,
        { extra: { package: name, specifier: previous.specifier } },
      );
    }
    refuseClash(current, name, resolved.specifier, prepared);
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
      const nodes = dropped.length > 0 ? await options.graph.findPluginNodes(dropped) : [];
      if (nodes.length > 0) {
        throw inUse(
          `Cannot upgrade "${name}" to ${resolved.version}: it drops entry point ${dropped.join(", ")}, which ` +
            `Plugin nodes use: ${describeNodes(nodes)}. Remove or re-point those nodes first`,
          name,
          nodes,
        );
      }
    };
    await refuseDropped(previous.entry_points);
    const entry: LockEntry = {
      specifier: resolved.specifier,
      version: resolved.version,
      integrity: prepared.stored.integrity,
      entry_points: prepared.slugs,
      source: previous.source,
      added_at: now().toISOString(),
      added_by: options.addedBy ?? "unknown",
    };
    const { lockfile } = await commit(options, async (draft) => {
      const present = draft.packages[name];
      if (!present) throw notInstalled(name);
      if (present.integrity !== previous.integrity) {
        throw new ConflictError(
          `Package "${name}" changed to ${present.specifier} while this upgrade was prepared; look and try again`,
        );
      }
      refuseClash(draft, name, resolved.specifier, prepared);
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
    return { name, previous, entry, diff, lockfile, entries: prepared.entries };
  } catch (error) {
    await prepared.discard();
    throw error;
  } finally {
    prepared.release();
  }
}

// ------------------------------------------------------------ remove

/** Options of {@linkcode removePackage}. */
export interface RemovePackageOptions extends AdminOptions {
  /** Finds (and with `force`, disables) Plugin nodes using the package's entry points. */
  graph: PluginNodeGraph;
  /** Remove even while Plugin nodes use it, disabling those nodes. */
  force?: boolean;
}

/** What {@linkcode removePackage} did. */
export interface RemovePackageResult {
  /** The package name. */
  name: string;
  /** The lock entry removed. */
  removed: LockEntry;
  /** Plugin nodes disabled because `force` was given. */
  disabled: PluginNodeRef[];
  /** The lockfile as written. */
  lockfile: Lockfile;
}

/**
 * Removes a package from the lockfile. While Plugin nodes use any of its
 * entry points this is refused, listing them, unless `force` is given,
 * which disables those nodes. The package's store directory is kept, so a
 * rollback needs no network.
 *
 * @param name The package's name.
 * @param options Lockfile, graph, force, provenance.
 * @returns The removed entry and the nodes disabled.
 * @throws {PackageError} `not_installed`; `in_use` (with `extra.plugin_nodes`).
 */
export async function removePackage(name: string, options: RemovePackageOptions): Promise<RemovePackageResult> {
  const refuse = async (entry: LockEntry): Promise<PluginNodeRef[]> => {
    const nodes = await options.graph.findPluginNodes(entry.entry_points);
    if (nodes.length > 0 && !options.force) {
      throw inUse(
        `Cannot remove "${name}": Plugin nodes use its entry points: ${describeNodes(nodes)}. ` +
          `Delete them, or remove with force=true to disable them`,
        name,
        nodes,
      );
    }
    return nodes;
  };
  const current = (await readLockfile(options.lockfilePath)).packages[name];
  if (!current) throw notInstalled(name);
  await refuse(current);
  let removed!: LockEntry;
  let disabled: PluginNodeRef[] = [];
  const { lockfile } = await commit(options, async (draft) => {
    const entry = draft.packages[name];
    if (!entry) throw notInstalled(name);
    const nodes = await refuse(entry);
    if (nodes.length > 0) {
      await options.graph.disablePluginNodes(nodes.map((n) => n.id));
      log.warn("Plugin nodes disabled by a forced package removal", { package: name, nodes: nodes.map((n) => n.id) });
    }
    disabled = nodes;
    removed = entry;
    delete draft.packages[name];
    return {
      action: "remove",
      package: name,
      summary: `remove ${name} ${entry.version}` + (nodes.length ? ` (disabled ${nodes.length} Plugin nodes)` : ""),
      detail: {
        specifier: entry.specifier,
        version: entry.version,
        entry_points: entry.entry_points,
        force: options.force === true,
        disabled_plugin_nodes: nodes.map((n) => n.id),
      },
    };
  });
  return { name, removed, disabled, lockfile };
}

// ------------------------------------------------------------ history and rollback

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
  options: Pick<AdminOptions, "lockfilePath" | "history">,
): Promise<RevisionView[]> {
  const history = options.history ?? LockfileHistory.beside(options.lockfilePath);
  const current = await readLockfile(options.lockfilePath);
  return (await history.list(current)).map((r) => revisionView(r, current.revision));
}

/** Options of {@linkcode rollbackLockfile}. */
export interface RollbackOptions extends AdminOptions {
  /** Finds Plugin nodes using entry points the rollback drops. */
  graph: PluginNodeGraph;
  /** Roll back even while Plugin nodes use dropped entry points, disabling them (CLI `--force`). */
  force?: boolean;
}

/** A package-level change a rollback makes. */
export interface PackageChange {
  /** The package name. */
  package: string;
  /** Its specifier before, or null when it was absent. */
  from: string | null;
  /** Its specifier after, or null when it is dropped. */
  to: string | null;
}

/** What {@linkcode rollbackLockfile} did. */
export interface RollbackResult {
  /** The revision whose packages were restored. */
  restored: number;
  /** The lockfile as written (a new revision). */
  lockfile: Lockfile;
  /** The revision it replaced. */
  fromRevision: number;
  /** Packages added, removed or moved. */
  changes: PackageChange[];
  /** Plugin nodes disabled because `force` was given. */
  disabled: PluginNodeRef[];
}

function packageChanges(from: Lockfile["packages"], to: Lockfile["packages"]): PackageChange[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  return names.flatMap((name) => {
    const a = from[name];
    const b = to[name];
    if (a && b && a.integrity === b.integrity && a.specifier === b.specifier) return [];
    return [{ package: name, from: a?.specifier ?? null, to: b?.specifier ?? null }];
  });
}

function droppedSlugs(from: Lockfile["packages"], to: Lockfile["packages"]): string[] {
  const kept = new Set(Object.values(to).flatMap((e) => e.entry_points));
  return Object.values(from).flatMap((e) => e.entry_points).filter((s) => !kept.has(s));
}

/**
 * Restores the packages of a kept revision as a new revision. Every package
 * of that revision must verify from the store or be fetched at its pinned
 * version first; otherwise the rollback is refused, naming the package.
 *
 * @param revision The revision to restore.
 * @param options Lockfile, store, graph, provenance.
 * @returns The new lockfile and what changed.
 * @throws {NotFoundError} When the revision is not kept (or is newer than the current one).
 * @throws {ConflictError} When it is the current revision.
 * @throws {PackageError} `registry` (not in the store and cannot be fetched) or `refused` (different bytes),
 *   naming the package; `in_use` when the rollback drops an entry point Plugin nodes use.
 */
export async function rollbackLockfile(revision: number, options: RollbackOptions): Promise<RollbackResult> {
  const history = options.history ?? LockfileHistory.beside(options.lockfilePath);
  const current = await readLockfile(options.lockfilePath);
  if (revision === current.revision) {
    throw new ConflictError(`Revision ${revision} is the current lockfile revision; there is nothing to roll back`);
  }
  const record = revision < current.revision ? await history.get(revision) : undefined;
  if (!record) {
    throw new NotFoundError(
      revision > current.revision
        ? `Revision ${revision} is newer than the current lockfile revision ${current.revision}`
        : `Lockfile revision ${revision} is not kept in ${history.dir}`,
    );
  }
  const target = record.lockfile.packages;
  const held: Held[] = [];
  try {
    const limit: TaskLimit = options.limit ?? ((task) => task());
    const ensured = await Promise.allSettled(
      Object.entries(target).map(async ([name, entry]) => {
        try {
          held.push(
            await hold(
              name,
              entry.version,
              options,
              () =>
                limit(() =>
                  options.store.ensure(name, entry, options.onProgress ? { onProgress: options.onProgress } : {})
                ),
            ),
          );
        } catch (error) {
          const cause = error instanceof PackageError ? error : undefined;
          throw new PackageError(
            cause?.kind === "refused" ? "refused" : "registry",
            `Cannot roll back to revision ${revision}: package "${name}" (${entry.specifier}) is not in the package ` +
              `cache and cannot be fetched: ${(error as Error).message}`,
            { cause: error, extra: { package: name, specifier: entry.specifier, revision } },
          );
        }
      }),
    );
    const failed = ensured.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const refuse = async (from: Lockfile["packages"]): Promise<PluginNodeRef[]> => {
      const dropped = droppedSlugs(from, target);
      const nodes = dropped.length > 0 ? await options.graph.findPluginNodes(dropped) : [];
      if (nodes.length > 0 && !options.force) {
        throw inUse(
          `Cannot roll back to revision ${revision}: it drops entry point ${dropped.join(", ")}, which Plugin ` +
            `nodes use: ${describeNodes(nodes)}. Remove those packages with force first, or delete the nodes`,
          null,
          nodes,
        );
      }
      return nodes;
    };
    await refuse(current.packages);
    let changes: PackageChange[] = [];
    let disabled: PluginNodeRef[] = [];
    const { lockfile, fromRevision } = await commit(options, async (draft) => {
      const nodes = await refuse(draft.packages);
      if (nodes.length > 0) await options.graph.disablePluginNodes(nodes.map((n) => n.id));
      disabled = nodes;
      changes = packageChanges(draft.packages, target);
      draft.packages = structuredClone(target);
      return {
        action: "rollback",
        package: null,
        summary: `roll back to revision ${revision}` +
          (changes.length
            ? `: ${changes.map((c) => `${c.package} ${c.from ?? "∅"} → ${c.to ?? "∅"}`).join(", ")}`
            : ""),
        detail: { restored_revision: revision, changes, disabled_plugin_nodes: nodes.map((n) => n.id) },
      };
    });
    return { restored: revision, lockfile, fromRevision, changes, disabled };
  } catch (error) {
    for (const h of held) await h.discard();
    throw error;
  } finally {
    for (const h of held) h.release();
  }
}

/**
 * The audit log of one lockfile, newest first.
 *
 * @param options The lockfile and the log (default: the store's data directory).
 * @returns The records of changes that happened.
 */
export async function auditRecords(
  options: Pick<AdminOptions, "lockfilePath" | "store" | "audit">,
): Promise<AuditRecord[]> {
  const audit = options.audit ?? auditLogIn(dirname(options.store.root));
  const current = await readLockfile(options.lockfilePath);
  return await audit.read({ lockfile: resolvePath(options.lockfilePath), currentRevision: current.revision });
}

// ------------------------------------------------------------ list

/** Options of {@linkcode listPackages}. */
export interface ListPackagesOptions {
  /** The lockfile to load. */
  lockfilePath: string;
  /** Where packages are verified (and fetched when the cache is cold). */
  store: PackageStore;
  /** Inspects a bundle without permissions; default `inspectBundle` of `core/sandbox.ts`. */
  inspect?: InspectBundle;
  /** Progress of cold fetches. */
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
