/**
 * JSON Schemas of request and response bodies and of query parameters.
 * Requests are validated with these, handlers are typed from them, and
 * `/openapi.json` publishes the same objects.
 *
 * @module
 */

import { type JsonSchema, PLAIN_TEXT } from "../core/validation.ts";
import { SLUG_PATTERN } from "../core/packages/manifest.ts";

/** `T` with every property and array read-only, all the way down. */
export type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/**
 * A JSON Schema as the routes declare it: core's `JsonSchema`, read-only, so
 * that a schema written `as const satisfies Schema` keeps its literal type
 * and what it validates can be typed from it.
 */
export type Schema = DeepReadonly<JsonSchema>;

/** The largest `offset` a list takes: far past any real graph, well inside every store's integer range. */
export const MAX_OFFSET = 1_000_000_000;

/** One version part: a number, `x`, `X` or `*`. */
const XR = "(?:[xX*]|0|[1-9][0-9]{0,14})";
/** A pre-release or build identifier list. */
const IDS =
  "(?:0|[1-9][0-9]{0,14}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:[.](?:0|[1-9][0-9]{0,14}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*";
/** A version, possibly partial: `1`, `1.2`, `1.2.x`, `1.2.3-rc.1+b5`. */
const PARTIAL = `${XR}(?:[.]${XR}(?:[.]${XR}(?:-${IDS})?(?:[+][0-9A-Za-z-]+(?:[.][0-9A-Za-z-]+)*)?)?)?`;
/** A comparator: a version after `^`, `~`, `<`, `<=`, `>`, `>=` or `=`. */
const SIMPLE = `(?:[~^]|[<>]=?|=)?${PARTIAL}`;
/** A range: comparators joined by spaces, or `a - b`. */
const RANGE = `(?:${PARTIAL} - ${PARTIAL}|${SIMPLE}(?: ${SIMPLE})*)`;

/** A semver version or range (node-semver's grammar): `1.2.3`, `^1.2`, `>=1 <2 || 3.x`. */
export const SEMVER_RANGE = `^${RANGE}(?: [|][|] ${RANGE})*$`;

const slug = { type: "string", pattern: SLUG_PATTERN.source, description: "lower-case slug" } as const satisfies Schema;
const name = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  pattern: PLAIN_TEXT,
  description: "any text without control characters",
} as const satisfies Schema;
const nullableText = { type: ["string", "null"], maxLength: 500, pattern: PLAIN_TEXT } as const satisfies Schema;

/**
 * An object schema of a response.
 *
 * @param properties Its properties.
 * @param required The ones always present (none unless given).
 * @returns The schema.
 * @example
 * ```ts
 * const view = object({ revision: { type: "integer" }, summary: { type: "string" } }, ["revision"]);
 * ```
 */
export function object(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  return required.length > 0 ? { type: "object", required, properties } : { type: "object", properties };
}

/** `{items: [...]}` of a list endpoint. */
export function listOf(item: Schema): Schema {
  return object({ items: { type: "array", items: item } }, ["items"]);
}

/** Paging query of list endpoints. */
export const pageQuery = {
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  offset: { type: "integer", minimum: 0, maximum: MAX_OFFSET, default: 0 },
} as const satisfies Record<string, Schema>;

/** Organization and project type bodies, and how responses show them. */
export const namedCreate = {
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name },
  additionalProperties: false,
} as const satisfies Schema;

/** Organization and project type updates. */
export const namedUpdate = {
  type: "object",
  required: ["name"],
  properties: { name },
  additionalProperties: false,
} as const satisfies Schema;

/** The schemas of a collection of slug-and-name items (organizations, project types), for `crudOperations()`. */
export const namedCollection = {
  view: namedCreate,
  create: namedCreate,
  update: namedUpdate,
  query: pageQuery,
} as const;

/** A project create. */
export const projectCreate = {
  type: "object",
  required: ["slug", "name"],
  properties: {
    id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$", description: "optional; generated when absent" },
    slug,
    name,
    project_types: { type: "array", items: slug, maxItems: 50, default: [] },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A project as responses show it. */
export const projectView = {
  type: "object",
  properties: { ...projectCreate.properties, id: { type: "string" } },
} as const satisfies Schema;

/** A project update. */
export const projectUpdate = {
  type: "object",
  properties: { slug, name, project_types: { type: "array", items: slug, maxItems: 50 } },
  additionalProperties: false,
} as const satisfies Schema;

const serviceFields = {
  vendor: nullableText,
  base_url: { type: ["string", "null"], format: "uri", maxLength: 2000 },
  account: nullableText,
  region: { type: ["string", "null"], pattern: "^[a-z0-9-]{1,40}$" },
} as const satisfies Record<string, Schema>;

/** A third-party service create. */
export const serviceCreate = {
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name, ...serviceFields },
  additionalProperties: false,
} as const satisfies Schema;

/** A third-party service update. */
export const serviceUpdate = {
  type: "object",
  properties: { name, ...serviceFields },
  additionalProperties: false,
} as const satisfies Schema;

/** The slug of an application, or null. */
const applicationRef = { type: ["string", "null"], pattern: SLUG_PATTERN.source } as const satisfies Schema;

/** Credential field names: one-line text. */
const credentialName = { maxLength: 200, pattern: PLAIN_TEXT } as const satisfies Schema;

const credentialValue = { type: "string", minLength: 1, maxLength: 65536 } as const satisfies Schema;

/** A service application create: credentials are write-only. */
export const applicationCreate = {
  type: "object",
  required: ["slug", "name"],
  properties: {
    slug,
    name,
    credentials: { type: "object", propertyNames: credentialName, additionalProperties: credentialValue, default: {} },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A service application update: a credential set to null is removed. */
export const applicationUpdate = {
  type: "object",
  properties: {
    name,
    credentials: {
      type: "object",
      propertyNames: credentialName,
      additionalProperties: { type: ["string", "null"], minLength: 1, maxLength: 65536 },
    },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A service application as responses show it. */
export const applicationView = {
  type: "object",
  properties: {
    slug,
    name,
    credential_fields: { type: "array", items: { type: "string" } },
    credentials: {
      type: "object",
      description: "values of non-secret fields only",
      additionalProperties: { type: "string" },
    },
  },
} as const satisfies Schema;

/** A Plugin node create. */
export const pluginCreate = {
  type: "object",
  required: ["slug", "plugin", "label"],
  properties: {
    slug,
    plugin: { ...slug, description: "manifest slug of a loaded entry point" },
    application: { ...applicationRef, description: "defaults to the service's only application" },
    label: name,
    options: {
      type: "object",
      default: {},
      description: "checked against the manifest's options schema, defaults applied; " +
        "secret (writeOnly) options are stored encrypted and never returned",
    },
    enabled: { type: "boolean", default: true },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A Plugin node as responses show it. */
export const pluginView = {
  type: "object",
  properties: {
    ...pluginCreate.properties,
    options: {
      type: "object",
      description: 'the options; each secret (writeOnly) option that holds a value shows as {"set": true}',
      additionalProperties: { description: 'any value the manifest allows; a set secret option is {"set": true}' },
    },
    id: { type: "string" },
    service: { type: "string" },
    plugin_type: { type: "string", enum: ["configuration", "logs"] },
    status: { type: "string", enum: ["loaded", "not_loaded"] },
    network: { type: "object", properties: { hosts: { type: "array", items: { type: "string" } } } },
  },
} as const satisfies Schema;

/** A Plugin node update. */
export const pluginUpdate = {
  type: "object",
  properties: {
    application: applicationRef,
    label: name,
    options: {
      type: "object",
      description: "replaces the options, except secret (writeOnly) ones: left out keeps the stored value, " +
        "null removes it",
    },
    enabled: { type: "boolean" },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A Plugin node's id (or slug). */
const pluginRef = { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" } as const satisfies Schema;

/** The bindings of a project type or project (replace all). */
export const bindings = {
  type: "object",
  required: ["bindings"],
  properties: {
    bindings: {
      type: "array",
      maxItems: 200,
      items: {
        type: "object",
        required: ["plugin_id", "tab"],
        properties: {
          plugin_id: pluginRef,
          tab: { type: "string", enum: ["configuration", "logs"] },
          default: { type: "boolean", default: false },
          search_template: { type: "string", maxLength: 1000, pattern: PLAIN_TEXT, default: "" },
          identity_plugin_id: { ...pluginRef, type: ["string", "null"], default: null },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** `POST .../configuration/values`. */
export const configValues = {
  type: "object",
  properties: {
    keys: {
      type: "array",
      items: { type: "string", minLength: 1, maxLength: 1024, pattern: PLAIN_TEXT },
      maxItems: 1000,
    },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** `PUT .../configuration/{key}`. */
export const configPut = {
  type: "object",
  required: ["value", "data_type"],
  properties: {
    value: { type: "string", maxLength: 1_048_576 },
    data_type: {
      type: "string",
      minLength: 1,
      maxLength: 100,
      pattern: PLAIN_TEXT,
      description: "one of the names in the bound plugin's manifest data_types",
    },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A registry specifier: `npm:<name>@<range>` or `jsr:@<scope>/<name>@<range>`. */
const SPECIFIER = "^(npm:(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*|jsr:@[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*)" +
  `@${SEMVER_RANGE.slice(1)}`; // the range's own ^...$ anchors the rest

/**
 * `configPut` as `/openapi.json` shows it: `data_type` is one of the data
 * types the loaded configuration plugins declare (the bound plugin refuses
 * one it does not know with 422).
 *
 * @param dataTypes The declared names; none leaves `data_type` free text.
 * @returns The schema.
 */
export function configPutDocumented(dataTypes: readonly string[]): Schema {
  if (dataTypes.length === 0) return configPut;
  const { data_type } = configPut.properties;
  return {
    ...configPut,
    properties: {
      ...configPut.properties,
      data_type: {
        ...data_type,
        enum: [...dataTypes],
        description: `${data_type.description}; installed now: ${dataTypes.join(", ")}`,
      },
    },
  };
}

/** `POST /admin/plugins`. */
const ACCEPT_PERMISSIONS = {
  type: "boolean",
  default: false,
  description: "true accepts the network hosts and credential fields the package will get; without it the " +
    "answer is 422 package-permissions-not-accepted with the preview in `permissions`",
} as const;

export const pluginInstall = {
  type: "object",
  properties: {
    catalog: { type: "string", minLength: 1, maxLength: 214, pattern: PLAIN_TEXT },
    specifier: {
      type: "string",
      maxLength: 500,
      pattern: SPECIFIER,
      description: "npm:<name>@<range> or jsr:@<scope>/<name>@<range>",
    },
    accept_permissions: ACCEPT_PERMISSIONS,
  },
  oneOf: [
    { properties: { catalog: { type: "string" } }, required: ["catalog"] },
    { properties: { specifier: { type: "string" } }, required: ["specifier"] },
  ],
  additionalProperties: false,
} as const satisfies Schema;

/** `PATCH /admin/plugins/{package}`. */
export const pluginUpgrade = {
  type: "object",
  required: ["version"],
  properties: {
    version: { type: "string", maxLength: 100, pattern: SEMVER_RANGE, description: "exact version or range" },
    accept_permissions: ACCEPT_PERMISSIONS,
  },
  additionalProperties: false,
} as const satisfies Schema;

/** `POST /admin/plugins/rollback`. */
export const pluginRollback = {
  type: "object",
  required: ["revision"],
  properties: { revision: { type: "integer", minimum: 0, maximum: MAX_OFFSET } },
  additionalProperties: false,
} as const satisfies Schema;

/** Query of the logs endpoints. */
export const logsQuery = {
  start: { type: "string", format: "date-time", description: "RFC 3339; default one hour before end" },
  end: { type: "string", format: "date-time", description: "RFC 3339; default now" },
  filter: { type: "array", items: { type: "string", pattern: "^[^:]+:(eq|ne|contains|starts_with|regex):" } },
  level: { type: "array", items: { type: "string", pattern: "^[a-z]{1,20}$" } },
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  cursor: { type: "string", maxLength: 4096 },
  source: { type: "string", maxLength: 200 },
  environment: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
} as const satisfies Record<string, Schema>;

/** Query shared by tab endpoints. */
export const tabQuery = { source: logsQuery.source, environment: logsQuery.environment } as const satisfies Record<
  string,
  Schema
>;

/** The `source` block of every tab answer: which plugin answered, from which package, why, and from where. */
export const tabSource = {
  type: "object",
  description: "which plugin answered, from which package, and why",
  required: [
    "plugin_id",
    "slug",
    "service",
    "plugin",
    "label",
    "package",
    "version",
    "specifier",
    "reason",
    "binding_from",
    "cached",
  ],
  properties: {
    plugin_id: { type: "string", description: "the Plugin node's id" },
    slug: { type: "string", description: "the Plugin node's slug" },
    service: { type: "string", description: "its third-party service's slug" },
    plugin: { type: "string", description: "the manifest slug of its handler" },
    label: { type: "string" },
    package: { type: "string", description: "the package the handler comes from" },
    version: { type: "string", description: "the package's exact version" },
    specifier: { type: "string", description: "the package's locked specifier" },
    reason: { enum: ["source", "project_default", "project_type_default", "only_candidate"] },
    binding_from: { type: "string", description: '"project" or "project_type:<slug>"' },
    cached: {
      type: "boolean",
      description: "true when the answer came from this replica's response cache (see the Age header); " +
        "false when the plugin was called for this request",
    },
  },
} as const satisfies Schema;
