/**
 * JSON Schemas of request and response bodies and of query parameters.
 * Requests are validated with these, handlers are typed from them, and
 * `/openapi.json` publishes the same objects.
 *
 * @module
 */

import type { JsonSchema } from "../core/validation.ts";
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

const slug = { type: "string", pattern: SLUG_PATTERN.source, description: "lower-case slug" } as const satisfies Schema;
const name = { type: "string", minLength: 1, maxLength: 200 } as const satisfies Schema;
const nullableText = { type: ["string", "null"], maxLength: 500 } as const satisfies Schema;

/** `{items: [...]}` of a list endpoint. */
export function listOf(item: Schema): Schema {
  return { type: "object", required: ["items"], properties: { items: { type: "array", items: item } } };
}

/** Paging query of list endpoints. */
export const pageQuery = {
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  offset: { type: "integer", minimum: 0, default: 0 },
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

const credentialValue = { type: "string", minLength: 1, maxLength: 65536 } as const satisfies Schema;

/** A service application create: credentials are write-only. */
export const applicationCreate = {
  type: "object",
  required: ["slug", "name"],
  properties: {
    slug,
    name,
    credentials: { type: "object", additionalProperties: credentialValue, default: {} },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** A service application update: a credential set to null is removed. */
export const applicationUpdate = {
  type: "object",
  properties: {
    name,
    credentials: { type: "object", additionalProperties: { type: ["string", "null"], minLength: 1, maxLength: 65536 } },
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
    application: { type: ["string", "null"], description: "defaults to the service's only application" },
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

/** How a secret (writeOnly) option that holds a value is shown. */
const secretSet = {
  type: "object",
  required: ["set"],
  properties: { set: { const: true } },
  additionalProperties: false,
  description: "a secret (writeOnly) option: it holds a value, which is never shown",
} as const satisfies Schema;

/** A Plugin node as responses show it. */
export const pluginView = {
  type: "object",
  properties: {
    ...pluginCreate.properties,
    options: {
      type: "object",
      description: 'the options; each secret (writeOnly) option that holds a value shows as {"set": true}',
      additionalProperties: { anyOf: [secretSet, {}] },
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
    application: { type: ["string", "null"] },
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
          plugin_id: { type: "string", minLength: 1 },
          tab: { type: "string", enum: ["configuration", "logs"] },
          default: { type: "boolean", default: false },
          search_template: { type: "string", maxLength: 1000, default: "" },
          identity_plugin_id: { type: ["string", "null"], default: null },
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
  properties: { keys: { type: "array", items: { type: "string", minLength: 1, maxLength: 1024 }, maxItems: 1000 } },
  additionalProperties: false,
} as const satisfies Schema;

/** `PUT .../configuration/{key}`. */
export const configPut = {
  type: "object",
  required: ["value", "data_type"],
  properties: {
    value: { type: "string", maxLength: 1_048_576 },
    data_type: { type: "string", minLength: 1, maxLength: 100 },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** `POST /admin/plugins`. */
export const pluginInstall = {
  type: "object",
  properties: {
    catalog: { type: "string", minLength: 1, maxLength: 214 },
    specifier: { type: "string", minLength: 1, maxLength: 500 },
  },
  additionalProperties: false,
} as const satisfies Schema;

/** `PATCH /admin/plugins/{package}`. */
export const pluginUpgrade = {
  type: "object",
  required: ["version"],
  properties: { version: { type: "string", minLength: 1, maxLength: 100, description: "exact version or range" } },
  additionalProperties: false,
} as const satisfies Schema;

/** `POST /admin/plugins/rollback`. */
export const pluginRollback = {
  type: "object",
  required: ["revision"],
  properties: { revision: { type: "integer", minimum: 0 } },
  additionalProperties: false,
} as const satisfies Schema;

/** Query of the logs endpoints. */
export const logsQuery = {
  start: { type: "string", description: "ISO 8601; default one hour before end" },
  end: { type: "string", description: "ISO 8601; default now" },
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
