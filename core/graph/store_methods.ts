/**
 * The graph methods of {@linkcode GraphStore}, written once for both stores.
 * A store gives a table of its operations, one per method, each taking the
 * method's own arguments after the store's transaction;
 * `defineGraphMethods` puts the methods on the store's class, each running
 * its operation in one read transaction, or in one write transaction for
 * the methods that change the graph (`create*`, `update*`, `delete*`,
 * `replaceBindings`, `disablePluginNodes`, `importAll`).
 *
 * @example
 * ```ts
 * export interface MyStore extends GraphMethods {}
 * export class MyStore implements GraphStore {
 *   // kind, control, ping, close ...
 *   static {
 *     defineGraphMethods(MyStore.prototype, (store) => store.#transactions, OPS);
 *   }
 * }
 * ```
 *
 * @module
 */

import { NotFoundError } from "../errors.ts";
import type { GraphStore } from "./store.ts";

/** The methods of {@linkcode GraphStore} that read or change the graph: all but `kind`, `control`, `ping`, `close`, `revision`. */
export type GraphMethods = Omit<GraphStore, "kind" | "control" | "ping" | "close" | "revision">;

/** The name of a graph method. */
export type GraphMethod = keyof GraphMethods;

/**
 * A store's operation for each graph method: the method's arguments after the
 * transaction `cx`; it may answer at once (SQLite) or with a promise (Neo4j).
 */
export type GraphOps<C> = {
  [K in GraphMethod]: (
    cx: C,
    ...args: Parameters<GraphMethods[K]>
  ) => Awaited<ReturnType<GraphMethods[K]>> | ReturnType<GraphMethods[K]>;
};

/**
 * How a store runs work in one transaction. `work` runs inside it: a
 * synchronous store (SQLite) calls it at once and commits after it returns,
 * rolling back when it throws.
 */
export interface Transactions<C> {
  /** Runs `work` in one read transaction (one snapshot). */
  read<T>(work: (cx: C) => T | Promise<T>): Promise<T>;
  /** Runs `work` in one write transaction: all of it happens, or none. */
  write<T>(work: (cx: C) => T | Promise<T>): Promise<T>;
}

const WRITES = /^(create|update|delete|replace|disable|import)[A-Z]/;

/**
 * Defines the graph methods on a store class's prototype: each runs its
 * operation in one of the store's transactions. A method the class defines
 * itself (one that needs no transaction, or another kind) is left as it is.
 *
 * @param proto The class's prototype.
 * @param transactionsOf The transactions of one store (`this` of a call).
 * @param ops One operation per graph method the class does not define;
 *   other properties (helpers of the modules spread into the table) are
 *   ignored.
 * @throws {TypeError} When an operation is missing.
 */
export function defineGraphMethods<S extends object, C, D extends GraphMethod = never>(
  proto: S,
  transactionsOf: (store: S) => Transactions<C>,
  ops: Omit<GraphOps<C>, D>,
): void {
  for (const name of GRAPH_METHODS) {
    if (Object.hasOwn(proto, name)) continue;
    const op = (ops as Partial<Record<GraphMethod, (cx: C, ...args: unknown[]) => unknown>>)[name];
    if (!op) throw new TypeError(`Cannot define the graph method ${name}: the store gives no operation for it`);
    const mode = WRITES.test(name) ? "write" : "read";
    Object.defineProperty(proto, name, {
      value(this: S, ...args: unknown[]) {
        return transactionsOf(this)[mode]((cx) => op(cx, ...args));
      },
      writable: true,
      configurable: true,
    });
  }
}

/**
 * A `find…` operation from a `get…` one: null where `get` throws
 * `NotFoundError` (for the node or any node on its path).
 *
 * @param get The `get…` operation.
 * @returns The `find…` operation.
 */
export function nullWhenAbsent<A extends unknown[], T>(get: (...args: A) => T): (...args: A) => T | null {
  return (...args) => {
    try {
      return get(...args);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  };
}

/** The kinds of node that each have `list…s`, `get…`, `find…`, `create…`, `update…` and `delete…` methods. */
const NODES = ["Org", "ProjectType", "Project", "Service", "Application", "Plugin"] as const;
const VERBS = ["get", "find", "create", "update", "delete"] as const;
const OTHERS = ["findPluginNodes", "disablePluginNodes", "getBindings", "replaceBindings"] as const;
const WHOLE = ["effectiveBindings", "resolveTab", "exportAll", "importAll"] as const;
type Named =
  | `list${typeof NODES[number]}s`
  | `${typeof VERBS[number]}${typeof NODES[number]}`
  | typeof OTHERS[number]
  | typeof WHOLE[number];
// Both are `never` exactly when the names above are the graph methods of GraphStore.
const _unnamed: Record<Exclude<GraphMethod, Named>, never> = {};
const _unknown: Record<Exclude<Named, GraphMethod>, never> = {};

/** Every graph method's name, by kind of node. */
export const GRAPH_METHODS: readonly GraphMethod[] = [
  ...NODES.flatMap((node) => [`list${node}s` as const, ...VERBS.map((verb) => `${verb}${node}` as const)]),
  ...OTHERS,
  ...WHOLE,
];
