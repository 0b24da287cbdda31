/**
 * The protocol every package change follows, written once:
 *
 * 1. {@linkcode prepare}: fetch, verify and bundle into the package store,
 *    inspect every manifest in a process with no permissions, and check it;
 *    nothing is written yet. What the attempt put into the store is
 *    {@linkcode hold held}: claimed, so a refused attempt never deletes what
 *    another in-flight operation or a lock entry uses;
 * 2. {@linkcode commit}: write the next revision through the lock state
 *    (`../lock_state.ts`), repeating the checks that depend on the lockfile
 *    on the draft it gets: in the graph store a compare-and-set on the
 *    revision (the service), or `plugins.lock.json` under its lock file (the
 *    CLI); the history and audit records are written with the revision;
 * 3. on any refusal the operation calls `discard()`: the lock state, the
 *    history, the audit log and the package store keep no trace.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { AuditLog } from "../audit.ts";
import { PackageError } from "../../errors.ts";
import { LockfileHistory } from "../history.ts";
import type { Lockfile } from "../lockfile.ts";
import { type Change, FileLockState, type LockState } from "../lock_state.ts";
import { log } from "../../logger.ts";
import { checkEntries, type EntryStatus, entryView, type InspectBundle } from "../registry.ts";
import type { PermissionCheck } from "../permissions.ts";
import type { PackageStore, ProgressCallback, ResolvedPackage, StoredPackage } from "../store.ts";
import { inspectBundle } from "../../sandbox/inspect.ts";

/** A Plugin node that uses an entry point, as refusals and reports name it (the graph store's `PluginNodeRef`). */
export interface PluginNodeInUse {
  /** The org's slug. */
  org: string;
  /** The third-party service's slug. */
  service: string;
  /** The node's id. */
  id: string;
  /** The node's slug. */
  slug: string;
  /** The entry point's slug (the plugin it runs). */
  plugin: string;
}

/** The part of the graph store upgrades, removals and rollbacks need (Plugin nodes using an entry point). */
export interface PluginNodeGraph {
  /** Plugin nodes, in every org, whose manifest slug is one of `manifestSlugs`. */
  findPluginNodes(manifestSlugs: string[]): Promise<PluginNodeInUse[]>;
  /** Sets `enabled = false` on the given Plugin node ids. */
  disablePluginNodes(ids: string[]): Promise<void>;
}

/** Runs a task under a concurrency limit (fetching and bundling are CPU-heavy). */
export type TaskLimit = <T>(task: () => Promise<T>) => Promise<T>;

/** Options every package change takes. */
export interface ChangeOptions {
  /** The lockfile to change when no `lock` is given (the CLI's file). */
  lockfilePath: string;
  /** Where the lock state lives; default the file at `lockfilePath` with its history and audit file. */
  lock?: LockState;
  /** Where packages are fetched, verified and bundled. */
  store: PackageStore;
  /** Inspects a bundle without permissions; default the sandbox's `inspectBundle`. */
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
  /** Accepts (or refuses) an install's or upgrade's permissions before the lockfile changes; default none. */
  checkPermissions?: PermissionCheck;
}

/** {@linkcode ChangeOptions} with every default applied. */
export interface ChangeContext {
  /** The inspector. */
  inspect: InspectBundle;
  /** Who asks. */
  actor: string;
  /** The clock. */
  now: () => Date;
  /** The lockfile's revision history. */
  history: LockfileHistory;
  /** The audit log. */
  audit: AuditLog;
  /** The concurrency limit. */
  limit: TaskLimit;
  /** Where the lock state lives. */
  lock: LockState;
}

/**
 * The revision history a change writes: `options.history`, else the one beside the lockfile.
 *
 * @param options The lockfile and, optionally, its history.
 * @returns The history.
 */
export function historyOf(options: Pick<ChangeOptions, "lockfilePath" | "history">): LockfileHistory {
  return options.history ?? LockfileHistory.beside(options.lockfilePath);
}

/**
 * The audit log a change appends to: `options.audit`, else `audit.jsonl` in the store's data directory.
 *
 * @param options The store and, optionally, the log.
 * @returns The audit log.
 */
export function auditOf(options: Pick<ChangeOptions, "store" | "audit">): AuditLog {
  return options.audit ?? AuditLog.inDataDir(dirname(options.store.root));
}

/**
 * Applies the defaults of {@linkcode ChangeOptions} (the one place they are written).
 *
 * @param options What the caller gave.
 * @returns Inspector, actor, clock, history, audit log and limit.
 */
export function changeContext(
  options: Pick<
    ChangeOptions,
    "lockfilePath" | "lock" | "store" | "inspect" | "addedBy" | "now" | "history" | "audit" | "limit"
  >,
): ChangeContext {
  return {
    inspect: options.inspect ?? inspectBundle,
    actor: options.addedBy ?? "unknown",
    now: options.now ?? (() => new Date()),
    history: historyOf(options),
    audit: auditOf(options),
    limit: options.limit ?? ((task) => task()),
    lock: lockOf(options),
  };
}

/**
 * The lock state a change writes: `options.lock`, else the file at `lockfilePath`.
 *
 * @param options The lock state, or the lockfile with its history and audit log.
 * @returns The lock state.
 */
export function lockOf(
  options: Pick<ChangeOptions, "lockfilePath" | "lock" | "history" | "audit"> & Partial<Pick<ChangeOptions, "store">>,
): LockState {
  if (options.lock) return options.lock;
  const audit = options.audit ?? (options.store ? AuditLog.inDataDir(dirname(options.store.root)) : undefined);
  return new FileLockState(options.lockfilePath, { history: historyOf(options), ...(audit ? { audit } : {}) });
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
export interface Held {
  /** The package as stored. */
  stored: StoredPackage;
  /** Removes the store directory when this operation created it and nothing else uses it. */
  discard(): Promise<void>;
  /** Ends this operation's claim; call it once the operation is over, committed or not. */
  release(): void;
}

/**
 * Gets a package into the store under a claim, remembering whether this
 * call created its directory.
 *
 * @param resolved The package's name and version (the claim's key).
 * @param options The lockfile and store, and `get`, which fetches or ensures the package.
 * @returns The stored package with `discard` and `release`.
 */
export async function hold(
  resolved: { name: string; version: string },
  options: Pick<ChangeOptions, "lockfilePath" | "lock" | "store" | "history" | "audit"> & {
    get: () => Promise<StoredPackage>;
  },
): Promise<Held> {
  const key = `${resolved.name}@${resolved.version}`;
  const release = claim(key);
  try {
    const before = await storeListing(options.store);
    const stored = await options.get();
    const created = !before.has(basename(stored.dir));
    return {
      stored,
      release,
      async discard() {
        if (!created || (claims.get(key) ?? 0) > 1) return;
        const lock = await lockOf(options).read().catch(() => undefined);
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

/**
 * Runs the rest of an operation while packages are held: when it throws,
 * discards them (step 3 of the protocol); either way releases their claims.
 *
 * @param held The held packages (an array may still grow while `task` runs).
 * @param task The operation's checks and its commit.
 * @returns What `task` returns.
 */
export async function whileHeld<T>(held: Held | Held[], task: () => Promise<T>): Promise<T> {
  const all = () => (Array.isArray(held) ? held : [held]);
  try {
    return await task();
  } catch (error) {
    for (const h of all()) await h.discard();
    throw error;
  } finally {
    for (const h of all()) h.release();
  }
}

// ------------------------------------------------------------ fetch and inspect

/** A package fetched, inspected and found valid, not yet in the lockfile. */
export interface Prepared extends Held {
  /** What was resolved. */
  resolved: ResolvedPackage;
  /** Its entry points as inspected, every one loaded. */
  entries: EntryStatus[];
  /** Their slugs. */
  slugs: string[];
}

/**
 * Step 1 of the protocol: fetches, verifies and bundles a resolved package
 * into the store, inspects it without permissions, and refuses it unless
 * every entry point is valid and compatible. A refusal discards and releases
 * what it fetched.
 *
 * @param resolved The package to prepare.
 * @param options Store, inspector, progress and limit.
 * @returns The held package and its entry points.
 * @throws {PackageError} kind `refused` (with `extra.entries`), and whatever fetching throws.
 */
export async function prepare(resolved: ResolvedPackage, options: ChangeOptions): Promise<Prepared> {
  const { inspect, limit } = changeContext(options);
  const progress = options.onProgress;
  const held = await hold(resolved, {
    ...options,
    get: () => limit(() => options.store.fetch(resolved, progress ? { onProgress: progress } : {})),
  });
  try {
    progress?.({
      package: resolved.name,
      phase: "verify",
      message: `inspecting ${resolved.specifier} with no permissions`,
    });
    const inspection = await limit(() => inspect(held.stored.bundlePath));
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

/**
 * Refuses a prepared package when another package of the lockfile already
 * exports one of its slugs (both would be refused at load).
 *
 * @param lockfile The lockfile as it is (or the draft under the lock).
 * @param prepared The package about to be locked under `prepared.resolved.name`.
 * @throws {PackageError} kind `refused`, with `extra.clashes_with` and `extra.slugs`.
 */
export function refuseClash(lockfile: Lockfile, prepared: Prepared): void {
  const { name, specifier } = prepared.resolved;
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

export type { Change };

/**
 * Step 2 of the protocol: writes the next revision through the lock state,
 * with its history and audit records.
 *
 * @param options The lock state (or lockfile), provenance.
 * @param mutate Changes the draft (repeating the checks that depend on it) and says what it did; it may run again
 *   on a newer draft when another writer committed first.
 * @returns The lockfile written, the change, and the revision it replaced.
 */
export async function commit(
  options: ChangeOptions,
  mutate: (draft: Lockfile) => Change | Promise<Change>,
): Promise<{ lockfile: Lockfile; change: Change; fromRevision: number }> {
  const { lock, now, actor } = changeContext(options);
  const written = await lock.update(mutate, { actor, requestId: options.requestId ?? null, now });
  log.info("lockfile changed", {
    action: written.change.action,
    package: written.change.package,
    from_revision: written.fromRevision,
    to_revision: written.lockfile.revision,
    where: lock.where,
    actor,
  });
  return written;
}
