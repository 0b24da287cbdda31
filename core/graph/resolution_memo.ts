/**
 * A memo of tab resolutions that is exact: a resolution is reused only while
 * the store's {@linkcode GraphStore.revision} token and the loaded manifest
 * slugs are the same as when it was made, so a binding, option or credential
 * written through this replica or any other is seen by the next request, as
 * without the memo. A store without `revision` (Neo4j) is asked every time.
 *
 * @example
 * ```ts
 * const memo = new ResolutionMemo(store);
 * const resolution = await memo.resolveTab({ org: "acme", project: "web", tab: "configuration", loaded });
 * ```
 *
 * @module
 */

import type { GraphStore, Resolution, ResolveQuery } from "./store.ts";

/** How many resolutions the memo keeps before it starts over (a project, tab and source each). */
export const RESOLUTION_MEMO_SIZE = 10_000;

interface Memo {
  revision: string;
  loaded: readonly string[];
  resolution: Resolution;
}

/** Resolves tabs through a store, reusing a resolution while the graph and the loaded slugs stay the same. */
export class ResolutionMemo {
  #store: GraphStore;
  #size: number;
  #memos = new Map<string, Memo>();

  /**
   * Wraps a store.
   *
   * @param store The graph store; without `revision()`, every call goes to it.
   * @param options `size`: how many resolutions are kept at most (default {@linkcode RESOLUTION_MEMO_SIZE}).
   */
  constructor(store: GraphStore, options: { size?: number } = {}) {
    this.#store = store;
    this.#size = options.size ?? RESOLUTION_MEMO_SIZE;
  }

  /**
   * {@linkcode GraphStore.resolveTab}, or the same (frozen) answer as last time for the same query when the graph
   * has not changed since and `query.loaded` is the same array (compared by identity: pass one array per registry).
   *
   * @param query The tab query.
   * @returns The resolution; callers must not change it.
   */
  async resolveTab(query: ResolveQuery): Promise<Resolution> {
    const store = this.#store;
    let revision: string | undefined;
    try {
      revision = store.revision?.();
    } catch {
      revision = undefined; // the store cannot say (closed): let the read report why
    }
    if (revision === undefined) return await store.resolveTab(query);
    const key = memoKey(query);
    const memo = this.#memos.get(key);
    if (memo !== undefined && memo.revision === revision && memo.loaded === query.loaded) return memo.resolution;
    // The token is read before the query: a commit landing in between leaves an entry the next call drops.
    const resolution = deepFreeze(await store.resolveTab(query));
    if (!this.#memos.has(key) && this.#memos.size >= this.#size) this.#memos.clear();
    this.#memos.set(key, { revision, loaded: query.loaded, resolution });
    return resolution;
  }
}

/** One string per query, without ambiguity: each part is prefixed with its length (cheaper than `JSON.stringify`). */
function memoKey(query: ResolveQuery): string {
  const { org, project, tab } = query;
  const source = query.source ?? "";
  return `${org.length}:${org}${project.length}:${project}${tab.length}:${tab}${source.length}:${source}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
