/**
 * The shape organizations, project types, projects, third-party services,
 * applications and Plugin nodes share: list and create on a collection's
 * path; read, update and delete on an item's path.
 * {@linkcode crudOperations} declares the five operations once per resource
 * and {@linkcode crudRoutes} answers them with the resource's five calls:
 *
 * ```ts
 * const ops = crudOperations({ tag: "Directory", view, create, update, query: pageQuery, words });
 * crudRoutes(ops, { collection: "/orgs", item: "/orgs/:org", list: (c) => store.listOrgs(c.req.valid("query")), ... });
 * ```
 *
 * Where the calls are the graph store's own, {@linkcode storeRoutes} does
 * both from one declaration that names them.
 *
 * @module
 */

import { type Context, Hono, type Input, type MiddlewareHandler } from "hono";
import { type Tagged, tagged } from "../core/graph/etag.ts";
import type { CreateOptions, GraphStore, Page, WriteOptions } from "../core/graph/store.ts";
import type { PluginNodes } from "../core/plugin_nodes.ts";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { taggedJson } from "./_etag.ts";
import {
  created,
  deleted,
  type JsonOf,
  ok,
  type OperationMiddleware,
  operations,
  type QuerySchema,
} from "./_openapi.ts";
import { listOf, type Schema } from "./_schemas.ts";
import { createOptions, writeOptions } from "./_writes.ts";

/** The summaries of a collection's five operations, and the success descriptions of list and read. */
export interface CrudWords {
  /** Summary of `GET` on the collection. */
  list: string;
  /** Summary of `POST` on the collection. */
  create: string;
  /** Summary of `GET` on an item. */
  read: string;
  /** Summary of `PATCH` on an item. */
  update: string;
  /** Summary of `DELETE` on an item. */
  remove: string;
  /** What list returns: "The projects". */
  many: string;
  /** What read returns: "The project". */
  one: string;
}

/** A collection's declaration: its tag, the schemas of an item as shown, of a create, of an update and of the list query, and the words. */
export interface CrudSpec<CB extends Schema, UB extends Schema, Q extends QuerySchema | undefined> {
  /** The OpenAPI tag. */
  tag: string;
  /** An item as responses show it. */
  view: Schema;
  /** The create body. */
  create: CB;
  /** The update body. */
  update: UB;
  /** The list query. */
  query?: Q;
  /** The summaries. */
  words: CrudWords;
}

/** The five declared operations of a collection. */
export interface CrudOperations<CB, UB, Q> {
  /** `GET` on the collection: any token, the list query. */
  list: OperationMiddleware<undefined, Q>;
  /** `POST` on the collection: admin, the create body. */
  create: OperationMiddleware<CB, undefined>;
  /** `GET` on an item: any token. */
  read: OperationMiddleware<undefined, undefined>;
  /** `PATCH` on an item: admin, the update body. */
  update: OperationMiddleware<UB, undefined>;
  /** `DELETE` on an item: admin. */
  remove: OperationMiddleware<undefined, undefined>;
}

/**
 * Declares a collection's five operations.
 *
 * @param spec The tag, the schemas of an item as shown, of a create, of an
 *   update and of the list query, and the words.
 * @returns The declarations, for {@linkcode crudRoutes}.
 */
export function crudOperations<
  const CB extends Schema,
  const UB extends Schema,
  const Q extends QuerySchema | undefined = undefined,
>(
  spec: CrudSpec<CB, UB, Q>,
): CrudOperations<CB, UB, Q> {
  const { view, words } = spec;
  const op = operations(spec.tag);
  // Type arguments spelled out: inferring them from generic schemas sends FromSchema too deep.
  return {
    list: op.read<undefined, Q>(words.list, { query: spec.query, success: ok(words.many, listOf(view)) }),
    create: op.admin<CB>(words.create, { body: spec.create, success: created("Created", view), etag: true }),
    read: op.read<undefined, undefined>(words.read, { success: ok(words.one, view), etag: true }),
    update: op.admin<UB>(words.update, { body: spec.update, success: ok("Updated", view), etag: true, ifMatch: true }),
    remove: op.admin<undefined, undefined>(words.remove, { success: deleted, ifMatch: true }),
  };
}

/** A collection's paths and the calls behind its five operations. */
export interface CrudHandlers<C extends string, P extends string, L extends Input, CI extends Input, UI extends Input> {
  /** The collection's path, Hono style: `/orgs/:org/projects`. */
  collection: C;
  /** An item's path: `/orgs/:org/projects/:id`. */
  item: P;
  /** Lists the items. */
  list: (c: Context<AppEnv, C, L>) => Promise<unknown[]>;
  /** Creates an item from the validated body and returns it, tagged. */
  create: (c: Context<AppEnv, C, CI>) => Promise<Tagged<unknown>>;
  /** Returns one item, tagged, or throws `NotFoundError`. */
  read: (c: Context<AppEnv, P>) => Promise<Tagged<unknown>>;
  /** Updates an item from the validated body (under `writeOptions()` of `_writes.ts`) and returns it, tagged. */
  update: (c: Context<AppEnv, P, UI>) => Promise<Tagged<unknown>>;
  /** Deletes an item, under `writeOptions()`. */
  remove: (c: Context<AppEnv, P>) => Promise<void>;
}

/**
 * The five routes of a collection: list (200 `{items}`), create (201),
 * read (200), update (200), delete (204). Create, read and update answer the
 * item's `ETag`; update and delete honour `If-Match` (412).
 *
 * @param ops What {@linkcode crudOperations} declared.
 * @param handlers The paths and the five calls.
 * @returns The Hono app, for `app.route()`.
 */
export function crudRoutes<C extends string, P extends string, L extends Input, CI extends Input, UI extends Input>(
  ops: {
    list: MiddlewareHandler<AppEnv, string, L>;
    create: MiddlewareHandler<AppEnv, string, CI>;
    read: MiddlewareHandler<AppEnv>;
    update: MiddlewareHandler<AppEnv, string, UI>;
    remove: MiddlewareHandler<AppEnv>;
  },
  handlers: CrudHandlers<C, P, L, CI, UI>,
): Hono<AppEnv> {
  const { collection, item } = handlers;
  return new Hono<AppEnv>()
    .get(collection, ops.list, async (c) => c.json({ items: await handlers.list(c) }))
    .post(collection, ops.create, async (c) => taggedJson(c, await handlers.create(c), 201))
    .get(item, ops.read, async (c) => taggedJson(c, await handlers.read(c)))
    .patch(item, ops.update, async (c) => taggedJson(c, await handlers.update(c)))
    .delete(item, ops.remove, async (c) => {
      await handlers.remove(c);
      return c.body(null, 204);
    });
}

/** The name of a method of `T` that accepts the arguments `A` and returns an `R`. */
export type CallOf<T, A extends unknown[], R> = {
  [K in keyof T]-?: T[K] extends (...args: infer P) => infer X ? A extends P ? X extends R ? K : never : never : never;
}[keyof T];

/** The name of a graph store call that accepts the arguments `A` and returns an `R`. */
export type StoreCall<A extends unknown[], R> = CallOf<GraphStore, A, R>;

/**
 * The graph store calls behind a collection's operations, by name. Each
 * takes the collection path's parameters `S` first (`[org]` under
 * `/orgs/:org/…`), then the item's, then the body and the write options;
 * list takes the page `L` asks for.
 */
export interface StoreCalls<S extends string[], CB, UB, L extends unknown[]> {
  /** Lists the items: `listProjects`. */
  list: StoreCall<L, Promise<unknown[]>>;
  /** Creates one: `createProject` (unless the directory writes it). */
  create?: StoreCall<[...S, CB, CreateOptions], Promise<unknown>>;
  /** Reads one or throws `NotFoundError`: `getProject`. */
  read: StoreCall<[...S, string], Promise<unknown>>;
  /** Updates one: `updateProject` (unless the directory writes it). */
  update?: StoreCall<[...S, string, UB, WriteOptions], Promise<unknown>>;
  /** Deletes one: `deleteProject`. */
  remove: StoreCall<[...S, string, WriteOptions], Promise<void>>;
}

/** Creates and updates that go through `deps.directory`, which checks and seals what they write: its calls by name. */
export interface DirectoryWrites<S extends string[], CB, UB> {
  /** `createPlugin`: answers the item as shown, tagged. */
  create: CallOf<PluginNodes, [...S, CB, CreateOptions], Promise<Tagged<unknown>>>;
  /** `updatePlugin`: answers the item as shown, tagged. */
  update: CallOf<PluginNodes, [...S, string, UB, WriteOptions], Promise<Tagged<unknown>>>;
}

/** What {@linkcode storeRoutes} declares and answers. */
export interface StoreCollection<
  CB extends Schema,
  UB extends Schema,
  Q extends QuerySchema | undefined,
  S extends string[],
  T,
> extends CrudSpec<CB, UB, Q> {
  /** The collection's path, Hono style: `/orgs/:org/projects`. */
  collection: string;
  /** An item's path: `/orgs/:org/projects/:id`; its last parameter names the item. */
  item: string;
  /** The call that reads what the collection belongs to before a list (`getOrg`: an unknown org is a 404). */
  parent?: StoreCall<S, Promise<unknown>>;
  /** The store calls of the operations; list gets the page when the collection declares a query. */
  calls: StoreCalls<S, JsonOf<CB>, JsonOf<UB>, Q extends QuerySchema ? [...S, Page] : S>;
  /** Creates and updates through the directory instead of the store. */
  writes?: DirectoryWrites<S, JsonOf<CB>, JsonOf<UB>>;
  /** How an item is shown when not as stored (an application without its secret values); its ETag stays the stored one's. */
  show?: (directory: PluginNodes, params: S, stored: T) => Promise<unknown>;
}

/**
 * A collection the graph store keeps: its five operations declared
 * ({@linkcode crudOperations}) and answered by the store's calls
 * ({@linkcode crudRoutes}), with the path's parameters as their first
 * arguments and ETags of what they return; creates and updates go through
 * the directory where it must check or seal them.
 *
 * Called in two steps, `storeRoutes<S, T>()(spec)`, so that `S` and `T` are
 * given while the schemas' types are inferred from `spec`.
 *
 * @typeParam S The collection path's parameters, as the calls take them.
 * @typeParam T An item as the store returns it.
 * @param spec The declaration, the paths and the calls by name.
 * @returns The routes, given the application's dependencies.
 * @example
 * ```ts
 * export const projectTypeRoutes = storeRoutes<[org: string]>()({
 *   tag: "Directory", ...namedCollection, words,
 *   collection: "/orgs/:org/project-types", item: "/orgs/:org/project-types/:pt", parent: "getOrg",
 *   calls: { list: "listProjectTypes", create: "createProjectType", read: "getProjectType", ... },
 * });
 * ```
 */
export function storeRoutes<S extends string[], T = unknown>() {
  return <const CB extends Schema, const UB extends Schema, const Q extends QuerySchema | undefined = undefined>(
    spec: StoreCollection<CB, UB, Q, S, T>,
  ): (deps: AppDeps) => Hono<AppEnv> => {
    const { calls, writes, show } = spec;
    const create = writes?.create ?? calls.create;
    const update = writes?.update ?? calls.update;
    if (!create || !update) throw new TypeError(`Cannot declare ${spec.collection}: no create or update call`);
    const ops = crudOperations(spec);
    const scope = [...spec.collection.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const id = [...spec.item.matchAll(/:(\w+)/g)].at(-1)![1]!;
    return (deps) => {
      const { store, directory } = deps;
      // The names are checked against the calls' shapes above; each call goes through this one untyped door.
      const call = <R>(target: object, name: string, args: unknown[]) =>
        ((target as Record<string, (...a: unknown[]) => Promise<R>>)[name]!).apply(target, args);
      const writer = writes ? directory : store;
      const params = (c: Context, ...more: string[]) => [...scope, ...more].map((name) => c.req.param(name));
      const shown = async (c: Context, stored: T) =>
        show ? tagged(stored, await show(directory, params(c) as S, stored)) : tagged(stored);
      const written = (answer: unknown) => writes ? answer as Tagged<unknown> : tagged(answer);
      return crudRoutes(ops, {
        collection: spec.collection,
        item: spec.item,
        list: async (c) => {
          if (spec.parent) await call(store, spec.parent, params(c));
          // The list operation validated the page query when the collection declares one.
          const page = spec.query ? [(c.req as unknown as { valid(target: "query"): unknown }).valid("query")] : [];
          const items = await call<T[]>(store, calls.list, [...params(c), ...page]);
          return show ? await Promise.all(items.map((item) => show(directory, params(c) as S, item))) : items;
        },
        create: async (c) =>
          written(await call(writer, create, [...params(c), c.req.valid("json"), createOptions(c, deps)])),
        read: async (c) => shown(c, await call<T>(store, calls.read, params(c, id))),
        update: async (c) =>
          written(await call(writer, update, [...params(c, id), c.req.valid("json"), writeOptions(c, deps)])),
        remove: async (c) => {
          await call(store, calls.remove, [...params(c, id), writeOptions(c, deps)]);
        },
      });
    };
  };
}
