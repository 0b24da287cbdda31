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
 * @module
 */

import { type Context, Hono, type Input, type MiddlewareHandler } from "hono";
import type { Tagged } from "../core/graph/etag.ts";
import type { AppEnv } from "./_deps.ts";
import { taggedJson } from "./_etag.ts";
import { created, deleted, ok, type OperationMiddleware, operations, type QuerySchema } from "./_openapi.ts";
import { listOf, type Schema } from "./_schemas.ts";

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
  spec: { tag: string; view: Schema; create: CB; update: UB; query?: Q; words: CrudWords },
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
