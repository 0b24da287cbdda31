/**
 * The operation table: every route declares its method, path, summary and
 * the JSON Schemas of its body and query here, and both the request
 * validation and `GET /openapi.json` read them from this one place.
 *
 * @module
 */

import type { Context } from "hono";
import { BadRequestError, ValidationError } from "../core/errors.ts";
import { type JsonSchema, validate } from "../core/json_schema.ts";

/** One documented operation. */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: `/orgs/{org}`. */
  path: string;
  summary: string;
  tag: string;
  /** The request body schema, when there is one. */
  body?: JsonSchema;
  /** Query parameters. */
  query?: Record<string, JsonSchema & { repeatable?: boolean }>;
  /** Success status and what it returns. */
  success: { status: number; description: string; schema?: JsonSchema };
  /** Needs the admin token (otherwise any token). `false` for the public probes. */
  auth: "admin" | "read" | "none";
}

const operations: Operation[] = [];

/**
 * Declares an operation and returns it, with the Hono path for routing.
 *
 * @param operation The declaration.
 * @returns The operation plus `route`, its Hono path (`/orgs/:org`).
 */
export function operation(operation: Operation): Operation & { route: string } {
  operations.push(operation);
  return { ...operation, route: operation.path.replace(/\{([^}]+)\}/g, ":$1") };
}

/**
 * Parses and validates a JSON body against the operation's schema.
 *
 * @param c The request context.
 * @param op The operation.
 * @returns The body with defaults applied.
 * @throws {BadRequestError} For malformed JSON or a wrong content type.
 * @throws {ValidationError} With a pointer per bad field.
 */
export async function readBody<T>(c: Context, op: Operation): Promise<T> {
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
  const result = validate(op.body ?? {}, raw);
  if (!result.ok) throw new ValidationError("The request body is not valid", result.errors);
  return result.value as T;
}

/**
 * Reads and validates query parameters declared by the operation.
 *
 * @param c The request context.
 * @param op The operation.
 * @returns Parameter name to value (a list for repeatable ones); integers converted.
 * @throws {BadRequestError} With a pointer per bad parameter.
 */
export function readQuery(c: Context, op: Operation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const errors: { pointer: string; message: string }[] = [];
  for (const [name, schema] of Object.entries(op.query ?? {})) {
    const values = c.req.queries(name) ?? [];
    if (values.length === 0) {
      if (schema.default !== undefined) out[name] = schema.default;
      continue;
    }
    if (!schema.repeatable && values.length > 1) {
      errors.push({ pointer: `/${name}`, message: "must be given once" });
      continue;
    }
    const converted = values.map((v) => (schema.type === "integer" && /^-?\d+$/.test(v) ? Number(v) : v));
    const check = validate(
      schema.repeatable ? { type: "array", items: schema.items ?? {} } : schema,
      schema.repeatable ? converted : converted[0],
    );
    if (!check.ok) errors.push(...check.errors.map((e) => ({ pointer: `/${name}${e.pointer}`, message: e.message })));
    else out[name] = check.value;
  }
  if (errors.length > 0) throw new BadRequestError("Invalid query parameters", { errors });
  return out;
}

/**
 * The OpenAPI 3.1 document of every declared operation.
 *
 * @param info Title and version.
 * @returns The document.
 */
export function openApiDocument(info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const query = Object.entries(op.query ?? {}).map(([name, schema]) => {
      const { repeatable, ...rest } = schema;
      return repeatable
        ? { name, in: "query", required: false, explode: true, schema: { type: "array", items: rest.items ?? {} } }
        : { name, in: "query", required: false, schema: rest };
    });
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method}${
        op.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, ch) => (ch ?? "").toUpperCase())
      }`,
      parameters: [...params, ...query],
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } } : {}),
      responses: {
        [String(op.success.status)]: {
          description: op.success.description,
          ...(op.success.schema ? { content: { "application/json": { schema: op.success.schema } } } : {}),
        },
        default: {
          description: "An RFC 9457 problem",
          content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        },
      },
      ...(op.auth === "none" ? { security: [] } : {}),
    };
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Problem: {
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
        },
      },
    },
  };
}

/** Every declared operation (for tests that walk the API). */
export function declaredOperations(): readonly Operation[] {
  return operations;
}

/**
 * The path parameters of a request. Routes are declared through
 * {@linkcode operation}, so Hono cannot infer their names; this reads them
 * as plain strings (a declared parameter is always present).
 *
 * @param c The request context.
 * @returns Parameter name to decoded value.
 */
export function params(c: Context): PathParams {
  return c.req.param() as unknown as PathParams;
}

/** Every path parameter name the API declares. */
export type PathParams = Record<"org" | "pt" | "id" | "svc" | "app" | "plugin" | "key" | "package", string>;
