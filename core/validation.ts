/**
 * The service's one JSON Schema implementation: Ajv (draft 2020-12, with
 * `ajv-formats`), for request bodies and queries (`routes/_openapi.ts`) and
 * for the options of Plugin nodes against their manifest's schema.
 *
 * Both run with every error reported (`allErrors`), defaults applied
 * (`useDefaults`), formats checked, and Ajv's strict mode on, so a typo in a
 * schema (`fromat`, `requried`, a `minLength` without `type: "string"`) is a
 * compile error, never a rule that silently does nothing. Plugin authors
 * learn of theirs when the package is installed: {@linkcode compileOptionsSchema}
 * returns the compiler's message, which the manifest check turns into the
 * entry's `invalid` reason.
 *
 * Errors become {@linkcode FieldError}s with JSON pointers to the bad value:
 * a missing or unknown property points at that property.
 *
 * @module
 */

import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";
import type { FieldError } from "./errors.ts";

export type { FieldError };

/** `ajv-formats` is CommonJS: its `module.exports` is the plugin, which TypeScript types as the `default` member. */
const addFormats = ((ajvFormats as { default?: unknown }).default ?? ajvFormats) as (ajv: Ajv2020) => Ajv2020;

/** A JSON Schema (draft 2020-12) document; the keywords the service's own schemas use are typed. */
export interface JsonSchema {
  /** One type or a list of types. */
  type?: JsonType | JsonType[];
  /** Object properties by name. */
  properties?: Record<string, JsonSchema>;
  /** Properties that must be present. */
  required?: string[];
  /** Whether (or how) properties not listed are allowed. */
  additionalProperties?: boolean | JsonSchema;
  /** The schema of every array item. */
  items?: JsonSchema;
  /** The allowed values. */
  enum?: unknown[];
  /** The one allowed value. */
  const?: unknown;
  /** A regular expression (Unicode) strings must match. */
  pattern?: string;
  /** Shortest string, in code points. */
  minLength?: number;
  /** Longest string, in code points. */
  maxLength?: number;
  /** Smallest number. */
  minimum?: number;
  /** Largest number. */
  maximum?: number;
  /** Fewest array items. */
  minItems?: number;
  /** Most array items. */
  maxItems?: number;
  /** A format `ajv-formats` knows (`uri`, `email`, `date-time`, `hostname`, ...). */
  format?: string;
  /** Applied when the property is missing. */
  default?: unknown;
  /** Exactly one of these must match. */
  oneOf?: JsonSchema[];
  /** What the value is, for people. */
  description?: string;
  /** A short name, for people. */
  title?: string;
  /** Marks a secret option: stored encrypted, never returned. */
  writeOnly?: boolean;
  /** Any other draft 2020-12 keyword. */
  [keyword: string]: unknown;
}

/** JSON value types. */
export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

/** The result of {@linkcode validate}: the value with defaults applied, or every error. */
export type ValidationResult =
  | { ok: true; value: unknown }
  | { ok: false; errors: FieldError[] };

/**
 * Text without control characters: no C0 (NUL, CR, LF, TAB, ...), DEL or C1.
 * Names, labels and other one-line text must match it, so what is stored
 * reads back exactly as given on every store (a NUL once came back cut).
 */
export const PLAIN_TEXT = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/** The draft the service implements; a schema's `$schema`, when given, must name it. */
export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

/**
 * An Ajv with the service's settings. `validateSchema: false` for one that
 * compiles schemas already checked against the draft's meta-schema by
 * another: each Ajv compiles the meta-schema's validator for itself.
 */
function newAjv(options: { validateSchema: boolean } = { validateSchema: true }): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    useDefaults: true,
    strict: true,
    allowUnionTypes: true,
    logger: false,
    validateSchema: options.validateSchema,
  });
  addFormats(ajv);
  return ajv;
}

/**
 * Escapes one JSON pointer segment (RFC 6901).
 *
 * @param segment A property name or an index.
 * @returns The segment with `~` and `/` escaped.
 */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * Ajv's errors as field errors: pointers to the bad value (to the property
 * itself for a missing or unknown one), duplicates dropped.
 *
 * @param errors What a validate function left in `errors`.
 * @returns One field error per distinct pointer and message.
 */
function fieldErrors(errors: readonly ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  // A failed oneOf is one error: what its branches said is noise ("catalog is required", "specifier is required").
  const failedOneOfs = errors.filter((e) => e.keyword === "oneOf").map((e) => `${e.schemaPath}/`);
  const relevant = errors.filter((e) => !failedOneOfs.some((path) => e.schemaPath.startsWith(path)));
  for (const error of relevant) {
    // A bad property name: its own rule (below) points at it; Ajv's "must be valid" wrapper adds nothing.
    if (error.keyword === "propertyNames") continue;
    let pointer = error.instancePath;
    if (error.propertyName !== undefined) pointer += `/${pointerSegment(error.propertyName)}`;
    let message = error.message ?? `fails "${error.keyword}"`;
    const params = error.params as Record<string, unknown>;
    if (error.keyword === "required" || error.keyword === "dependentRequired") {
      pointer += `/${pointerSegment(String(params.missingProperty))}`;
      message = "is required";
    } else if (error.keyword === "additionalProperties") {
      pointer += `/${pointerSegment(String(params.additionalProperty))}`;
      message = "is not an allowed property";
    } else if (error.keyword === "unevaluatedProperties") {
      pointer += `/${pointerSegment(String(params.unevaluatedProperty))}`;
      message = "is not an allowed property";
    } else if (error.keyword === "pattern" && params.pattern === PLAIN_TEXT) {
      message = "must not contain control characters (U+0000 to U+001F, U+007F to U+009F)";
    } else if (error.keyword === "oneOf") {
      message = "must match exactly one of the alternatives (see the schema's oneOf)";
    } else if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
      message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, message });
  }
  return out;
}

function run(validator: ValidateFunction, value: unknown): ValidationResult {
  // Ajv applies defaults in place: validate a copy so the caller's value is never changed.
  const copy = value === undefined ? undefined : structuredClone(value);
  return validator(copy) ? { ok: true, value: copy } : { ok: false, errors: fieldErrors(validator.errors ?? []) };
}

/** The service's own schemas (routes): one Ajv, each schema compiled once. */
const serviceAjv = newAjv();
const serviceValidators = new WeakMap<object, ValidateFunction>();

/**
 * Validates a value against one of the service's own schemas and applies
 * the `default`s of missing properties. Each schema object is compiled on
 * first use and kept (by identity). The input is not modified.
 *
 * @param schema The schema (a constant of the service; read-only is fine: it is only read).
 * @param value The value to check.
 * @returns The value with defaults, or every error with its JSON pointer.
 * @throws {Error} When the schema itself does not compile (a bug in the service).
 * @example
 * ```ts
 * const r = validate({ type: "object", properties: { region: { type: "string", default: "us-east-1" } } }, {});
 * // r = { ok: true, value: { region: "us-east-1" } }
 * ```
 */
export function validate(schema: object, value: unknown): ValidationResult {
  let validator = serviceValidators.get(schema);
  if (!validator) {
    validator = serviceAjv.compile(schema);
    serviceValidators.set(schema, validator);
  }
  return run(validator, value);
}

/** A compiled options schema: its validator and the names of its secret (`writeOnly`) options. */
export interface OptionsSchema {
  /**
   * Validates options, defaults applied; pointers are relative to the options object.
   *
   * @param options The options to check.
   */
  validate(options: unknown): ValidationResult;
  /** Top-level options marked `writeOnly: true`, sorted. */
  secrets: string[];
}

/** The outcome of {@linkcode compileOptionsSchema}. */
export type OptionsSchemaResult = { ok: true; schema: OptionsSchema } | { ok: false; message: string };

const optionSchemas = new WeakMap<object, OptionsSchemaResult>();

const NO_OPTIONS = { type: "object", additionalProperties: false } as const;

/**
 * Compiles a manifest's `options` schema once (kept by the schema object's
 * identity) and reports what an author must fix when it does not compile.
 * Each manifest gets its own Ajv, so two plugins' `$id`s never collide.
 *
 * Beyond Ajv's strict mode: the root must be `type: "object"`; `writeOnly:
 * true` (a secret option) is allowed only on a top-level string property;
 * `x-secret` is refused with a pointer to `writeOnly`, the standard keyword
 * that OpenAPI and form generators already honour, so a secret has one
 * spelling.
 *
 * @param schema The manifest's `options`; undefined means "no options".
 * @returns The compiled schema, or the compiler's message.
 */
export function compileOptionsSchema(schema: unknown): OptionsSchemaResult {
  const key = (typeof schema === "object" && schema !== null ? schema : NO_OPTIONS) as object;
  const cached = optionSchemas.get(key);
  if (cached) return cached;
  const result = compileOptions(key);
  optionSchemas.set(key, result);
  return result;
}

function compileOptions(schema: object): OptionsSchemaResult {
  const root = schema as Record<string, unknown>;
  if (Array.isArray(schema) || root.type !== "object") {
    return { ok: false, message: 'must be a JSON Schema with type "object"' };
  }
  const misplaced = misplacedSecret(schema);
  if (misplaced) return { ok: false, message: misplaced };
  const properties = (root.properties ?? {}) as Record<string, Record<string, unknown>>;
  const secrets = Object.keys(properties).filter((name) => properties[name]?.writeOnly === true).sort();
  for (const name of secrets) {
    if (properties[name]!.type !== "string") {
      return {
        ok: false,
        message: `/properties/${pointerSegment(name)}: a writeOnly (secret) option must be a string`,
      };
    }
  }
  let validator: ValidateFunction;
  try {
    // The meta-schema check runs in the service's Ajv, whose meta-schema validator is compiled once: an Ajv of its
    // own compiling it again cost about 0.7 MiB resident per loaded entry point. It throws Ajv's own message.
    serviceAjv.validateSchema(schema, true);
    validator = newAjv({ validateSchema: false }).compile(schema);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  return { ok: true, schema: { validate: (options) => run(validator, options), secrets } };
}

/** Keywords whose value maps names to subschemas. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
/** Keywords whose value is data, not a schema. */
const DATA_KEYWORDS = new Set(["enum", "const", "default", "examples"]);

/**
 * Calls `visit` with every keyword of every subschema and the pointer of
 * the schema it sits in (property names and data values are not keywords).
 */
function eachKeyword(
  node: unknown,
  at: string,
  visit: (keyword: string, at: string) => string | undefined,
): string | undefined {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
  for (const [keyword, value] of Object.entries(node)) {
    const found = visit(keyword, at);
    if (found) return found;
    if (DATA_KEYWORDS.has(keyword) || typeof value !== "object" || value === null) continue;
    const here = `${at}/${pointerSegment(keyword)}`;
    const children: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [`${here}/${i}`, v])
      : SCHEMA_MAPS.has(keyword)
      ? Object.entries(value).map(([name, v]) => [`${here}/${pointerSegment(name)}`, v])
      : [[here, value]];
    for (const [path, child] of children) {
      const inner: string | undefined = eachKeyword(child, path, visit);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** `x-secret` anywhere, or `writeOnly` anywhere but on a top-level property: secrets are whole top-level options. */
function misplacedSecret(root: object): string | undefined {
  return eachKeyword(root, "", (keyword, at) => {
    if (keyword === "x-secret") {
      return `${at}/x-secret: "x-secret" is not supported; mark a secret option with "writeOnly": true`;
    }
    if (keyword === "writeOnly" && !/^\/properties\/[^/]+$/.test(at)) {
      return `${at}/writeOnly: only top-level options may be writeOnly (secret)`;
    }
    return undefined;
  });
}
