/**
 * A small JSON Schema validator (the subset plugin manifests and the HTTP
 * API use): `type`, `properties`, `required`, `additionalProperties`,
 * `items`, `enum`, `const`, `pattern`, `minLength`, `maxLength`, `minimum`,
 * `maximum`, `minItems`, `maxItems`, `format: "uri"`, `default`, `oneOf`
 * (first match wins), `description`, `title`. Errors carry JSON pointers.
 *
 * @module
 */

import type { FieldError } from "./errors.ts";

/** A JSON Schema document (the supported subset). */
export interface JsonSchema {
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  default?: unknown;
  oneOf?: JsonSchema[];
  description?: string;
  title?: string;
  [key: string]: unknown;
}

/** JSON value types. */
export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

const KNOWN_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "format",
  "default",
  "oneOf",
  "description",
  "title",
  "examples",
  "$schema",
  "$id",
  "readOnly",
  "writeOnly",
  "x-secret",
]);

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll("~", "~0").replaceAll("/", "~1");
}

function typeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as JsonType;
}

function matchesType(value: unknown, type: JsonType): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks that a schema only uses keywords this validator understands, so a
 * plugin cannot ship a schema whose rules would silently be ignored.
 *
 * @param schema The schema to check.
 * @param pointer Where the schema sits, for error pointers.
 * @returns One error per unsupported keyword or malformed rule.
 */
export function checkSchema(schema: unknown, pointer = ""): FieldError[] {
  if (!isPlainObject(schema)) return [{ pointer, message: "must be a JSON Schema object" }];
  const errors: FieldError[] = [];
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key)) {
      errors.push({
        pointer: `${pointer}/${pointerSegment(key)}`,
        message: `unsupported JSON Schema keyword "${key}"`,
      });
    }
  }
  if (schema.pattern !== undefined) {
    try {
      new RegExp(String(schema.pattern), "u");
    } catch {
      errors.push({ pointer: `${pointer}/pattern`, message: "must be a valid regular expression" });
    }
  }
  if (isPlainObject(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      errors.push(...checkSchema(sub, `${pointer}/properties/${pointerSegment(name)}`));
    }
  } else if (schema.properties !== undefined) {
    errors.push({ pointer: `${pointer}/properties`, message: "must be an object" });
  }
  if (schema.items !== undefined) errors.push(...checkSchema(schema.items, `${pointer}/items`));
  if (isPlainObject(schema.additionalProperties)) {
    errors.push(...checkSchema(schema.additionalProperties, `${pointer}/additionalProperties`));
  }
  if (Array.isArray(schema.oneOf)) {
    schema.oneOf.forEach((sub, i) => errors.push(...checkSchema(sub, `${pointer}/oneOf/${i}`)));
  }
  return errors;
}

/** Result of {@linkcode validate}: the value with defaults applied, or errors. */
export type ValidationResult =
  | { ok: true; value: unknown }
  | { ok: false; errors: FieldError[] };

/**
 * Validates a value against a schema and applies `default`s of missing
 * object properties. The input is not modified.
 *
 * @param schema The schema.
 * @param value The value to check.
 * @returns The value with defaults, or every error with its JSON pointer.
 * @example
 * ```ts
 * const r = validate({ type: "object", properties: { region: { type: "string", default: "us-east-1" } } }, {});
 * // r = { ok: true, value: { region: "us-east-1" } }
 * ```
 */
export function validate(schema: JsonSchema, value: unknown): ValidationResult {
  const errors: FieldError[] = [];
  const out = walk(schema, value, "", errors);
  return errors.length === 0 ? { ok: true, value: out } : { ok: false, errors };
}

function walk(schema: JsonSchema, value: unknown, pointer: string, errors: FieldError[]): unknown {
  if (schema.oneOf) {
    for (const option of schema.oneOf) {
      const attempt: FieldError[] = [];
      const out = walk(option, value, pointer, attempt);
      if (attempt.length === 0) return out;
    }
    errors.push({ pointer, message: "must match one of the allowed shapes" });
    return value;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => matchesType(value, t))) {
      errors.push({ pointer, message: `must be of type ${types.join(" or ")}` });
      return value;
    }
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    errors.push({ pointer, message: `must equal ${JSON.stringify(schema.const)}` });
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push({ pointer, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}` });
  }
  if (typeof value === "string") checkString(schema, value, pointer, errors);
  if (typeof value === "number") checkNumber(schema, value, pointer, errors);
  if (Array.isArray(value)) return checkArray(schema, value, pointer, errors);
  if (isPlainObject(value)) return checkObject(schema, value, pointer, errors);
  return value;
}

function checkString(schema: JsonSchema, value: string, pointer: string, errors: FieldError[]): void {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    errors.push({ pointer, message: `must be at least ${schema.minLength} characters long` });
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    errors.push({ pointer, message: `must be at most ${schema.maxLength} characters long` });
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
    errors.push({ pointer, message: `must match the pattern ${schema.pattern}` });
  }
  if (schema.format === "uri" && !URL.canParse(value)) {
    errors.push({ pointer, message: "must be an absolute URL" });
  }
}

function checkNumber(schema: JsonSchema, value: number, pointer: string, errors: FieldError[]): void {
  if (schema.minimum !== undefined && value < schema.minimum) {
    errors.push({ pointer, message: `must be at least ${schema.minimum}` });
  }
  if (schema.maximum !== undefined && value > schema.maximum) {
    errors.push({ pointer, message: `must be at most ${schema.maximum}` });
  }
}

function checkArray(schema: JsonSchema, value: unknown[], pointer: string, errors: FieldError[]): unknown[] {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push({ pointer, message: `must have at least ${schema.minItems} items` });
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push({ pointer, message: `must have at most ${schema.maxItems} items` });
  }
  const items = schema.items;
  return items ? value.map((item, i) => walk(items, item, `${pointer}/${i}`, errors)) : value;
}

function checkObject(
  schema: JsonSchema,
  value: Record<string, unknown>,
  pointer: string,
  errors: FieldError[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (value[name] === undefined && properties[name]?.default === undefined) {
      errors.push({ pointer: `${pointer}/${pointerSegment(name)}`, message: "is required" });
    }
  }
  for (const [name, sub] of Object.entries(properties)) {
    if (value[name] === undefined) {
      if (sub.default !== undefined) out[name] = structuredClone(sub.default);
      continue;
    }
    out[name] = walk(sub, value[name], `${pointer}/${pointerSegment(name)}`, errors);
  }
  for (const [name, item] of Object.entries(value)) {
    if (name in properties) continue;
    const extra = schema.additionalProperties;
    if (extra === false) {
      errors.push({ pointer: `${pointer}/${pointerSegment(name)}`, message: "is not an allowed property" });
    } else if (isPlainObject(extra)) {
      out[name] = walk(extra as JsonSchema, item, `${pointer}/${pointerSegment(name)}`, errors);
    } else {
      out[name] = item;
    }
  }
  return out;
}
