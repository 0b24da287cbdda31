/**
 * The operation table. Every route declares its operation once, between its
 * path and its handler:
 *
 * ```ts
 * const op = operations("Directory");
 * const rename = op.admin("Rename an organization", { body: namedUpdate, success: ok("Updated", orgView) });
 * app.patch("/orgs/:org", rename, async (c) => c.json(await store.updateOrg(c.req.param("org"), c.req.valid("json"))));
 * ```
 *
 * The declaration is the route's first middleware: it enforces the declared
 * auth level, then validates the query and the body against their JSON
 * Schemas, and the handler reads both typed from those schemas
 * (`c.req.valid("query")`, `c.req.valid("json")`) while Hono types the path
 * parameters from the path. `/openapi.json` is built from the same
 * declarations, read back from the app's routes with
 * {@linkcode declaredOperations}.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { FromSchema, JSONSchema } from "json-schema-to-ts";
import { BadRequestError, ValidationError } from "../core/errors.ts";
import { validate } from "../core/validation.ts";
import type { AppEnv } from "./_deps.ts";
import { type AuthLevel, authorize } from "./_auth.ts";
import { readIfMatch } from "./_etag.ts";
import type { Schema } from "./_schemas.ts";

/** Query parameters: name to schema. A parameter that may be repeated has `type: "array"`. */
export type QuerySchema = Readonly<Record<string, Schema>>;

/** The success response of an operation. */
export interface Success {
  /** The status code. */
  status: number;
  /** What it returns, in words. */
  description: string;
  /** What it returns, as a schema. */
  schema?: Schema;
}

/** What an operation declares besides its method and path (its route gives those). */
export interface OperationSpec<
  B extends Schema | undefined = Schema | undefined,
  Q extends QuerySchema | undefined = QuerySchema | undefined,
> {
  /** The OpenAPI tag it is listed under. */
  tag: string;
  /** One line on what it does. */
  summary: string;
  /** Who may call it. */
  auth: AuthLevel;
  /** The request body schema, when there is one. */
  body?: B;
  /** The query parameters, when there are any. */
  query?: Q;
  /** The success response. */
  success: Success;
  /** The success response carries the resource's `ETag` (see `_etag.ts`). */
  etag?: boolean;
  /** The request may carry `If-Match`; a tag that no longer matches answers 412. */
  ifMatch?: boolean;
  /**
   * A tab read the response cache may answer: the request may carry `Cache-Control: no-cache`, and the answer of a
   * cacheable Plugin node carries `Age`.
   */
  cached?: boolean;
}

/** A declared operation as `/openapi.json` lists it. */
export interface Operation extends OperationSpec {
  /** The HTTP method, lower case. */
  method: string;
  /** OpenAPI style: `/orgs/{org}`. */
  path: string;
}

/** The TypeScript type of what a (literal) schema validates; defaulted properties are always present. */
export type JsonOf<S> = Schema extends S ? unknown : S extends JSONSchema ? FromSchema<S> : never;

/** The TypeScript type of a validated query: defaulted parameters are always present. */
export type QueryOf<Q> = JsonOf<{ type: "object"; properties: Q; additionalProperties: false }>;

/**
 * What a declared operation hands its handler: `c.req.valid("json")` and
 * `c.req.valid("query")`, typed from their schemas.
 */
export type OperationInput<B, Q> = {
  out:
    & (B extends Schema ? { json: JsonOf<B> } : Record<never, never>)
    & (Q extends QuerySchema ? { query: QueryOf<Q> } : Record<never, never>);
};

/** The middleware an operation declaration is, typed for its handler. */
export type OperationMiddleware<B, Q> = MiddlewareHandler<AppEnv, string, OperationInput<B, Q>>;

/** The declaration behind each operation middleware. */
const declarations = new WeakMap<object, OperationSpec>();

function operation(spec: OperationSpec): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const refused = authorize(c, spec.auth);
    if (refused) return refused;
    if (spec.ifMatch) c.set("ifMatch", readIfMatch(c));
    if (spec.query) c.req.addValidatedData("query", readQuery(c, spec.query));
    if (spec.body) c.req.addValidatedData("json", await readBody(c, spec.body));
    await next();
  };
  declarations.set(middleware, spec);
  return middleware;
}

/** What an operation declares besides its tag, auth level and summary. */
export type OperationDetails<B extends Schema | undefined, Q extends QuerySchema | undefined> = Omit<
  OperationSpec<B, Q>,
  "tag" | "auth" | "summary"
>;

/** Declares one operation: its summary, then its schemas and success response. */
export type Declare = <
  const B extends Schema | undefined = undefined,
  const Q extends QuerySchema | undefined = undefined,
>(summary: string, details: OperationDetails<B, Q>) => OperationMiddleware<B, Q>;

/** Declares operations under one tag: `admin`, `read` or `none` after who may call them. */
export type Operations = Record<AuthLevel, Declare>;

/**
 * Declares operations under one tag. Each declaration is the middleware
 * that goes between a route's path and its handler.
 *
 * @param tag The OpenAPI tag.
 * @returns One declaring method per auth level.
 * @example
 * ```ts
 * const op = operations("Directory");
 * app.get("/orgs", op.read("List organizations", { query: pageQuery, success: ok("The organizations") }), handler);
 * ```
 */
export function operations(tag: string): Operations {
  const declare = (auth: AuthLevel): Declare => (summary, details) => operation({ ...details, tag, summary, auth });
  return { admin: declare("admin"), read: declare("read"), none: declare("none") };
}

/**
 * A 200 success.
 *
 * @param description What it returns.
 * @param schema Its schema, when documented.
 * @returns The success declaration.
 */
export function ok(description: string, schema?: Schema): Success {
  return schema ? { status: 200, description, schema } : { status: 200, description };
}

/**
 * A 201 success.
 *
 * @param description What it returns.
 * @param schema Its schema, when documented.
 * @returns The success declaration.
 */
export function created(description: string, schema?: Schema): Success {
  return schema ? { status: 201, description, schema } : { status: 201, description };
}

/** The 204 of a delete. */
export const deleted: Success = { status: 204, description: "Deleted" };

/**
 * Parses and validates a JSON body.
 *
 * @throws {BadRequestError} For malformed JSON or a wrong content type.
 * @throws {ValidationError} With a pointer per bad field.
 */
async function readBody(c: Context, schema: Schema): Promise<NonNullable<unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new BadRequestError("The request body must be JSON (Content-Type: application/json)");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch (error) {
    throw new BadRequestError(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  const result = validate(schema, raw);
  if (!result.ok) throw new ValidationError("The request body is not valid", result.errors);
  return result.value ?? {}; // every body schema is an object: never null here
}

/** The object schema of each declared query, built once per declaration. */
const querySchemas = new WeakMap<QuerySchema, Schema>();

function querySchema(query: QuerySchema): Schema {
  let schema = querySchemas.get(query);
  if (!schema) {
    schema = { type: "object", properties: query };
    querySchemas.set(query, schema);
  }
  return schema;
}

/**
 * Reads and validates query parameters: a list for `type: "array"` ones,
 * integers converted, defaults applied.
 *
 * @throws {BadRequestError} With a pointer per bad parameter.
 */
function readQuery(c: Context, query: QuerySchema): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const errors: { pointer: string; message: string }[] = [];
  for (const [name, schema] of Object.entries(query)) {
    const values = c.req.queries(name) ?? [];
    if (values.length === 0) continue;
    const repeatable = schema.type === "array";
    if (!repeatable && values.length > 1) {
      errors.push({ pointer: `/${name}`, message: "must be given once" });
      continue;
    }
    const converted = values.map((v) => (schema.type === "integer" && /^-?\d+$/.test(v) ? Number(v) : v));
    raw[name] = repeatable ? converted : converted[0];
  }
  const result = validate(querySchema(query), raw);
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0) throw new BadRequestError("Invalid query parameters", { errors });
  return result.ok ? result.value as Record<string, unknown> : raw;
}

/** Hono's `/orgs/:org` and `/admin/plugins/:package{.+}` as OpenAPI's `/orgs/{org}`. */
function openApiPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)(\{[^/]*\})?/g, "{$1}");
}

/**
 * Every operation an app declares, in the order its routes were added.
 * Declarations are found on the routes' handlers, so they must be mounted
 * with `app.route()` from sub-apps without their own `onError`.
 *
 * @param app The app, with every resource mounted.
 * @returns The operations.
 */
export function declaredOperations(
  app: { routes: readonly { method: string; path: string; handler: object }[] },
): Operation[] {
  return app.routes.flatMap((route) => {
    const spec = declarations.get(route.handler);
    return spec ? [{ ...spec, method: route.method.toLowerCase(), path: openApiPath(route.path) }] : [];
  });
}

const PROBLEM_SCHEMA = {
  type: "object",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    errors: {
      type: "array",
      items: { type: "object", properties: { pointer: { type: "string" }, message: { type: "string" } } },
    },
  },
};

const ETAG_HEADER = {
  description: "Strong entity tag of the resource's stored state; send it back in If-Match to update or delete " +
    "only what you read",
  schema: { type: "string", example: '"x3Jp0Qd2kVQ5lE0ZB6m9hA"' },
};

const IF_MATCH_PARAMETER = {
  name: "If-Match",
  in: "header",
  required: false,
  description: "Write only while the resource's ETag is one of these (`*`: it exists); else 412 (RFC 9110 13.1.1)",
  schema: { type: "string" },
};

const AGE_HEADER = {
  description: "Seconds since the plugin gave this answer (0: it was asked for this request); only on reads of a " +
    "Plugin node whose manifest sets hints.cacheable while the response cache is on",
  schema: { type: "integer", minimum: 0 },
};

const CACHE_CONTROL_PARAMETER = {
  name: "Cache-Control",
  in: "header",
  required: false,
  description: "`no-cache` (or `no-store`, `max-age=0`): ask the plugin even when this replica's response cache " +
    "holds an answer; the fresh answer replaces the cached one",
  schema: { type: "string" },
};

function operationId(op: Operation): string {
  const words = op.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, ch) => (ch ?? "").toUpperCase());
  return `${op.method}${words}`;
}

function describe(op: Operation): Record<string, unknown> {
  const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = Object.entries(op.query ?? {}).map(([name, schema]) =>
    schema.type === "array"
      ? { name, in: "query", required: false, explode: true, schema: { type: "array", items: schema.items ?? {} } }
      : { name, in: "query", required: false, schema }
  );
  const { status, description, schema } = op.success;
  const problem = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };
  return {
    summary: op.summary,
    tags: [op.tag],
    operationId: operationId(op),
    parameters: [
      ...params,
      ...query,
      ...(op.ifMatch ? [{ $ref: "#/components/parameters/IfMatch" }] : []),
      ...(op.cached ? [{ $ref: "#/components/parameters/CacheControl" }] : []),
    ],
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } } : {}),
    responses: {
      [String(status)]: {
        description,
        ...(op.etag ? { headers: { ETag: { $ref: "#/components/headers/ETag" } } } : {}),
        ...(op.cached ? { headers: { Age: { $ref: "#/components/headers/Age" } } } : {}),
        ...(schema ? { content: { "application/json": { schema } } } : {}),
      },
      ...(op.ifMatch
        ? { "412": { description: "If-Match names none of the resource's current ETag", content: problem } }
        : {}),
      default: { description: "An RFC 9457 problem", content: problem },
    },
    ...(op.auth === "none" ? { security: [] } : {}),
  };
}

/**
 * The OpenAPI 3.1 document of some operations.
 *
 * @param operations What {@linkcode declaredOperations} found.
 * @param info Title and version.
 * @returns The document.
 */
export function openApiDocument(
  operations: readonly Operation[],
  info: { title: string; version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) (paths[op.path] ??= {})[op.method] = describe(op);
  return {
    openapi: "3.1.0",
    info,
    paths,
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Problem: PROBLEM_SCHEMA },
      headers: { ETag: ETAG_HEADER, Age: AGE_HEADER },
      parameters: { IfMatch: IF_MATCH_PARAMETER, CacheControl: CACHE_CONTROL_PARAMETER },
    },
  };
}
