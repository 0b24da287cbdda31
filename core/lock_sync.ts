/**
 * Keeps one replica on the lock state's current revision (issue 10). Every
 * `IMBI_LOCK_POLL_MS` the replica reads the revision in the graph store; when
 * it differs from the revision its registry was built from, it reloads the
 * runtime (`core/runtime.ts`): the new registry is built beside the old one,
 * fetching and verifying the packages this replica's cache lacks, and
 * swapped in one assignment, so calls in flight finish on the old handlers.
 *
 * A build that would fail a package the current registry serves (it cannot
 * be fetched, its bytes differ) is refused by {@linkcode lockRegistryBuilder}:
 * the replica keeps serving its previous revision, reports why in its
 * heartbeat and log, and tries again at the next poll.
 *
 * A registry serving failed packages (the first build of a replica whose
 * registry was unreachable at start) is reported the same way and rebuilt
 * every {@linkcode RETRY_FAILED_POLLS} polls until it loads.
 *
 * Every poll also writes the replica's heartbeat row (`GET /admin/replicas`).
 *
 * @module
 */

import { PackageError } from "./errors.ts";
import type { ReplicaRow, ReplicaStore } from "./graph/replica_store.ts";
import { log } from "./logger.ts";
import { buildRegistry, type InspectBundle, type Registry } from "./packages/registry.ts";
import type { PackageStore } from "./packages/store.ts";
import type { LockState } from "./packages/lock_state.ts";

/** Options of {@linkcode lockRegistryBuilder}. */
export interface LockRegistryBuilderOptions {
  /** The lock state the registry is built from. */
  lock: LockState;
  /** Where packages are fetched and verified. */
  packages: PackageStore;
  /** Inspects a bundle without permissions. */
  inspect: InspectBundle;
  /** The registry served now (undefined before the first build). */
  current: () => Registry | undefined;
}

/**
 * The runtime's registry builder: reads the current lock revision and builds
 * its registry. The first build serves whatever loads (failed packages are
 * listed with their reason); a later build that fails a package the served
 * registry does not already fail is refused, so the replica keeps serving.
 *
 * @param options Lock state, package store, inspector, the served registry.
 * @returns The builder for `PluginRuntime.start`.
 */
export function lockRegistryBuilder(options: LockRegistryBuilderOptions): (generation: number) => Promise<Registry> {
  return async (generation) => {
    const lockfile = await options.lock.read();
    const fresh = await buildRegistry(lockfile, { store: options.packages, inspect: options.inspect, generation });
    const served = options.current();
    if (!served) return fresh;
    const failedBefore = new Set(
      served.packages.filter((p) => p.status === "failed").map((p) => `${p.name}|${p.integrity}`),
    );
    const worse = fresh.packages.filter((p) => p.status === "failed" && !failedBefore.has(`${p.name}|${p.integrity}`));
    if (worse.length > 0) {
      throw new PackageError(
        "registry",
        `Cannot move to lock revision ${lockfile.revision}; still serving revision ${served.revision}: ` +
          worse.map((p) => p.reason).join("; "),
        { extra: { revision: lockfile.revision, serving: served.revision, packages: worse.map((p) => p.name) } },
      );
    }
    return fresh;
  };
}

/** The part of the runtime {@linkcode LockSync} drives. */
export interface SyncedRuntime {
  /** The registry served now. */
  readonly registry: Registry;
  /** Builds the current lock revision's registry beside the old one and swaps it in, unless `skipIf` says no. */
  reload(options: { skipIf?: (current: Registry) => Promise<boolean> }): Promise<Registry>;
}

/** Options of {@linkcode LockSync}. */
export interface LockSyncOptions {
  /** The store's lock state (its `revision()` is polled). */
  lock: { revision(): Promise<number> };
  /** The runtime to reload. */
  runtime: SyncedRuntime;
  /** The deployment's heartbeat rows. */
  replicas: ReplicaStore;
  /** This replica's id and host. */
  replica: { id: string; host: string };
  /** Poll interval, ms. */
  pollMs: number;
  /** The clock. */
  now?: () => Date;
}

/** A registry with failed packages is rebuilt every this many polls. */
export const RETRY_FAILED_POLLS = 10;

/** Rows not seen for this long are deleted by any replica's poll. */
const PRUNE_AFTER_MS = 3_600_000;

/** Polls the lock revision, reloads on a change, and writes this replica's heartbeat. */
export class LockSync {
  #options: LockSyncOptions;
  #now: () => Date;
  #started: string;
  #error: string | null = null;
  #storeRevision: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #polls = 0;

  /**
   * Wires the loop; nothing runs until {@linkcode LockSync.start}.
   *
   * @param options Lock state, runtime, heartbeat store, replica, interval.
   */
  constructor(options: LockSyncOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#started = this.#now().toISOString();
  }

  /** Why this replica is not on the store's revision (null when it is, or has not polled yet). */
  get lastError(): string | null {
    return this.#error;
  }

  /** The store's revision at the last poll (null before the first). */
  get storeRevision(): number | null {
    return this.#storeRevision;
  }

  /** This replica's id. */
  get replica(): string {
    return this.#options.replica.id;
  }

  /** The poll interval, ms. */
  get pollMs(): number {
    return this.#options.pollMs;
  }

  /** Runs one poll now, then every `pollMs`. */
  start(): void {
    const loop = async () => {
      if (this.#stopped) return;
      this.#running = this.poll();
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(loop, this.#options.pollMs);
    };
    void loop();
  }

  /**
   * One poll: reads the store's revision, reloads when this replica serves
   * another, and writes the heartbeat. Never throws: a failure is logged and
   * reported in the heartbeat.
   */
  async poll(): Promise<void> {
    const { runtime, lock } = this.#options;
    try {
      const revision = await lock.revision();
      this.#storeRevision = revision;
      this.#polls++;
      const failed = runtime.registry.packages.filter((p) => p.status === "failed");
      const retry = failed.length > 0 && this.#polls % RETRY_FAILED_POLLS === 0;
      if (revision !== runtime.registry.revision || retry) {
        const from = runtime.registry.revision;
        const started = performance.now();
        // A poll that an admin change's own reload made moot is skipped when its turn comes; a retry is not.
        const fresh = await runtime.reload(
          retry ? {} : { skipIf: async (current) => current.revision === await lock.revision() },
        );
        if (fresh.revision !== from) {
          log.info("replica moved to the store's lock revision", {
            replica: this.replica,
            from_revision: from,
            revision: fresh.revision,
            ms: Math.round(performance.now() - started),
          });
        }
      }
      const still = runtime.registry.packages.filter((p) => p.status === "failed");
      this.#error = still.length === 0
        ? null
        : `Revision ${runtime.registry.revision} is served with ${still.length} ` +
          `package(s) not loaded: ${still.map((p) => p.reason).join("; ")}`;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.#error) {
        log.error("replica cannot move to the store's lock revision", { replica: this.replica, error: message });
      }
      this.#error = message;
    }
    await this.#beat();
  }

  async #beat(): Promise<void> {
    const now = this.#now();
    const row: ReplicaRow = {
      id: this.#options.replica.id,
      host: this.#options.replica.host,
      started_at: this.#started,
      seen_at: now.toISOString(),
      revision: this.#options.runtime.registry.revision,
      error: this.#error,
    };
    try {
      await this.#options.replicas.beat(row);
      await this.#options.replicas.prune(new Date(now.getTime() - PRUNE_AFTER_MS).toISOString());
    } catch (error) {
      log.warn("replica heartbeat not written", { replica: row.id, error: (error as Error).message });
    }
  }

  /**
   * The deployment's live replicas (seen within three polls, at least 10 s),
   * each with the revision it serves and its lag behind the store.
   *
   * @returns The store's revision and the replicas, by id.
   */
  async replicas(): Promise<{ revision: number; replicas: (ReplicaRow & { lag: number; live: true })[] }> {
    const revision = await this.#options.lock.revision();
    const horizon = this.#now().getTime() - Math.max(3 * this.#options.pollMs, 10_000);
    const rows = await this.#options.replicas.list();
    return {
      revision,
      replicas: rows.filter((r) => Date.parse(r.seen_at) >= horizon).map((r) => ({
        ...r,
        lag: Math.max(0, revision - r.revision),
        live: true as const,
      })),
    };
  }

  /** Stops polling (waiting for a poll under way) and deletes this replica's heartbeat row. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#options.replicas.remove(this.#options.replica.id).catch(() => {});
  }
}
