/**
 * The response cache of tab reads (issue 9, requirement 4): checked plugin
 * answers of read methods, kept per (Plugin node configuration, rendered
 * call context, method, arguments) for a time to live, bounded in bytes
 * with least-recently-used eviction.
 *
 * What it guarantees:
 *
 * - **One plugin call per key at a time.** Concurrent misses for one key
 *   share the call in flight (coalescing); its failure reaches all of them
 *   and nothing is stored.
 * - **Writes win.** {@linkcode TabCache.invalidate} drops a node's entries and
 *   bumps its generation; a read that started before the bump never stores
 *   its answer, and a later read never joins a call that started before it.
 *   `Tabs` invalidates before and after every `setValue` and `deleteKey`.
 * - **New configuration, new entries.** Each node's entries are of one
 *   version of its configuration (for `Tabs`: what its sandbox process is
 *   keyed by, the package integrity and bundle, options, application and
 *   credential ciphertexts, service); a read under another version drops
 *   the node's old entries first.
 *
 * The cache holds what the plugin answered, already checked and redacted of
 * the node's own secrets, but not masked: masking of secret values for read
 * tokens happens per request after the cache (`Tabs`), so a cached value is
 * shown to each caller as its token allows. Cached values are shared by
 * every caller: never mutate one.
 *
 * The cache lives in one process: replicas each keep their own, so a write
 * through another replica shows here when the entry expires.
 *
 * @module
 */

import { jsonLength } from "./slices.ts";

/** Options of a {@linkcode TabCache}. */
export interface TabCacheOptions {
  /** Time to live of an entry, ms; 0 turns the cache off. A manifest's `hints.cache_ttl_ms` may only lower it. */
  ttlMs: number;
  /** Most bytes the entries may hold (JSON text and key); 0 turns the cache off. */
  maxBytes: number;
  /** Milliseconds since the epoch; tests pass a fake one. Defaults to `Date.now`. */
  clock?: () => number;
}

/** Counters and size of a {@linkcode TabCache}, for metrics. */
export interface TabCacheStats {
  /** Reads answered from an entry. */
  hits: number;
  /** Reads that found no live entry (each made a plugin call, or joined one). */
  misses: number;
  /** Misses that joined a plugin call already in flight for the same key. */
  coalesced: number;
  /** Reads that skipped the cache (`Cache-Control: no-cache`). */
  bypasses: number;
  /** Entries dropped to stay within the byte bound. */
  evictions: number;
  /** Entries dropped by a write or a configuration change. */
  invalidations: number;
  /** Live entries now. */
  entries: number;
  /** Bytes they hold now. */
  bytes: number;
  /** The byte bound. */
  maxBytes: number;
}

/** Which node and configuration an entry belongs to, and how long it may live. */
export interface CacheScope {
  /** The Plugin node's id. */
  node: string;
  /** The node's configuration version; another one drops the node's entries. */
  version: string;
  /** The manifest's `hints.cache_ttl_ms`, if any; the operator's TTL wins when lower. */
  ttlMs?: number | undefined;
}

/** A value with where it came from. */
export interface CacheResult<T> {
  /** The plugin's answer. */
  value: T;
  /** It came from an entry, not from a plugin call made for this read (or joined by it). */
  hit: boolean;
  /** Whole seconds since the plugin answered (HTTP `Age`). */
  ageSeconds: number;
}

interface Entry {
  node: string;
  value: unknown;
  storedAt: number;
  expiresAt: number;
  bytes: number;
}

interface Flight {
  generation: number;
  promise: Promise<{ value: unknown; storedAt: number }>;
}

/** Caches tab read answers in this process's memory. */
export class TabCache {
  #ttlMs: number;
  #maxBytes: number;
  #clock: () => number;
  /** Least recently used first: `Map` keeps insertion order, and a hit re-inserts. */
  #entries = new Map<string, Entry>();
  #byNode = new Map<string, Set<string>>();
  #versions = new Map<string, string>();
  #generations = new Map<string, number>();
  #inFlight = new Map<string, Flight>();
  /** `node + "\n" + key` by node and key, made once (a few thousand per node at most), so a hit hashes no new string. */
  #fullKeys = new Map<string, Map<string, string>>();
  #bytes = 0;
  #counts = { hits: 0, misses: 0, coalesced: 0, bypasses: 0, evictions: 0, invalidations: 0 };

  /**
   * Makes an empty cache.
   *
   * @param options Time to live, byte bound, clock.
   * @throws {RangeError} When the TTL or the bound is negative or not a number.
   */
  constructor(options: TabCacheOptions) {
    for (const [name, value] of [["ttlMs", options.ttlMs], ["maxBytes", options.maxBytes]] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`TabCache ${name} must be 0 or more, not ${value}`);
      }
    }
    this.#ttlMs = options.ttlMs;
    this.#maxBytes = options.maxBytes;
    this.#clock = options.clock ?? Date.now;
  }

  /** False when the operator turned the cache off (TTL or bound 0). */
  get enabled(): boolean {
    return this.#ttlMs > 0 && this.#maxBytes > 0;
  }

  /** A snapshot of the counters, for the metrics endpoint. */
  get stats(): TabCacheStats {
    return { ...this.#counts, entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.#maxBytes };
  }

  /**
   * The live entry for `key`, or the answer of `load` (stored for the TTL).
   * Concurrent calls for one key share one `load`.
   *
   * @param scope The node, its configuration version and the manifest's TTL.
   * @param key Identifies the call within the node: method, rendered context, arguments.
   * @param load Calls the plugin; called at most once per key at a time.
   * @param options `bypass` skips the entry and any call in flight, and stores the fresh answer.
   * @returns The answer, whether it was a hit, and its age.
   */
  async read<T>(
    scope: CacheScope,
    key: string,
    load: () => Promise<T>,
    options: { bypass?: boolean } = {},
  ): Promise<CacheResult<T>> {
    const ttlMs = Math.min(this.#ttlMs, scope.ttlMs ?? this.#ttlMs);
    if (!this.enabled || !(ttlMs > 0)) return { value: await load(), hit: false, ageSeconds: 0 };
    if (this.#versions.get(scope.node) !== scope.version) {
      this.invalidate(scope.node);
      this.#versions.set(scope.node, scope.version);
    }
    const full = this.#fullKey(scope.node, key); // every entry of a node is of its current version
    const generation = this.#generations.get(scope.node) ?? 0;
    if (options.bypass === true) {
      this.#counts.bypasses++;
    } else {
      const now = this.#clock();
      const entry = this.#entries.get(full);
      if (entry !== undefined && entry.expiresAt > now) {
        this.#entries.delete(full);
        this.#entries.set(full, entry);
        this.#counts.hits++;
        return {
          value: entry.value as T,
          hit: true,
          ageSeconds: Math.max(0, Math.floor((now - entry.storedAt) / 1000)),
        };
      }
      if (entry !== undefined) this.#remove(full, entry);
      this.#counts.misses++;
      const flight = this.#inFlight.get(full);
      if (flight !== undefined && flight.generation === generation) {
        this.#counts.coalesced++;
        const shared = await flight.promise;
        return { value: shared.value as T, hit: false, ageSeconds: this.#age(shared.storedAt) };
      }
    }
    const promise = (async () => {
      const value = await load();
      return { value: value as unknown, storedAt: this.#clock() };
    })();
    const flight = { generation, promise };
    this.#inFlight.set(full, flight);
    try {
      const { value, storedAt } = await promise;
      // Measured before the generation is read: a long list is measured in slices, and a write may land meanwhile.
      const bytes = full.length + await jsonLength(value);
      if ((this.#generations.get(scope.node) ?? 0) === generation && this.#versions.get(scope.node) === scope.version) {
        this.#store(full, { node: scope.node, value, storedAt, expiresAt: storedAt + ttlMs, bytes });
      }
      return { value: value as T, hit: false, ageSeconds: 0 };
    } finally {
      if (this.#inFlight.get(full) === flight) this.#inFlight.delete(full);
    }
  }

  /** The key of a node's entry, made once per node and key. */
  #fullKey(node: string, key: string): string {
    let keys = this.#fullKeys.get(node);
    if (keys === undefined) this.#fullKeys.set(node, keys = new Map());
    let full = keys.get(key);
    if (full === undefined) {
      if (keys.size >= 4096) keys.clear();
      keys.set(key, full = `${node}\n${key}`);
    }
    return full;
  }

  /**
   * Drops every entry of a node and makes reads in flight for it store
   * nothing (a write through the node, or a new configuration).
   *
   * @param node The Plugin node's id.
   */
  invalidate(node: string): void {
    this.#generations.set(node, (this.#generations.get(node) ?? 0) + 1);
    this.#fullKeys.delete(node);
    const keys = this.#byNode.get(node);
    if (keys === undefined) return;
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry !== undefined) {
        this.#remove(key, entry);
        this.#counts.invalidations++;
      }
    }
    this.#byNode.delete(node);
  }

  #age(storedAt: number): number {
    return Math.max(0, Math.floor((this.#clock() - storedAt) / 1000));
  }

  #store(key: string, entry: Entry): void {
    if (entry.bytes > this.#maxBytes) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#remove(key, old);
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    let keys = this.#byNode.get(entry.node);
    if (keys === undefined) this.#byNode.set(entry.node, keys = new Set());
    keys.add(key);
    for (const [oldest, victim] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#remove(oldest, victim);
      this.#counts.evictions++;
    }
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    const keys = this.#byNode.get(entry.node);
    keys?.delete(key);
    if (keys?.size === 0) this.#byNode.delete(entry.node);
  }
}
