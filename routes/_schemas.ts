/**
 * JSON Schemas of request and response bodies and of query parameters.
 * Requests are validated with these, handlers are typed from them, and
 * `/openapi.json` publishes the same objects.
 *
 * @module
 */

import type { JsonSchema } from "../core/json_schema.ts";
import { SLUG_PATTERN } from "../core/packages/manifest.ts";

/** Keeps a schema's literal type, so that what it validates can be typed from it. */
function schema<const S extends JsonSchema>(literal: S): S {
  return literal;
}

/** Keeps the literal types of named schemas (object fields, query parameters). */
function schemas<const S extends Record<string, JsonSchema>>(literal: S): S {
  return literal;
}

const slug = schema({ type: "string", pattern: SLUG_PATTERN.source, description: "lower-case slug" });
const name = schema({ type: "string", minLength: 1, maxLength: 200 });
const nullableText = schema({ type: ["string", "null"], maxLength: 500 });

/** `{items: [...]}` of a list endpoint. */
export function listOf(item: JsonSchema): JsonSchema {
  return { type: "object", required: ["items"], properties: { items: { type: "array", items: item } } };
}

/** Paging query of list endpoints. */
export const pageQuery = schemas({
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  offset: { type: "integer", minimum: 0, default: 0 },
});

/** Organization and project type bodies, and how responses show them. */
export const namedCreate = schema({
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name },
  additionalProperties: false,
});

/** Organization and project type updates. */
export const namedUpdate = schema({
  type: "object",
  required: ["name"],
  properties: { name },
  additionalProperties: false,
});

/** The schemas of a collection of slug-and-name items (organizations, project types), for `crudOperations()`. */
export const namedCollection = { view: namedCreate, create: namedCreate, update: namedUpdate, query: pageQuery };

/** A project create. */
export const projectCreate = schema({
  type: "object",
  required: ["slug", "name"],
  properties: {
    id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$", description: "optional; generated when absent" },
    slug,
    name,
    project_types: { type: "array", items: slug, maxItems: 50, default: [] },
  },
  additionalProperties: false,
});

/** A project as responses show it. */
export const projectView: JsonSchema = {
  type: "object",
  properties: { ...projectCreate.properties, id: { type: "string" } },
};

/** A project update. */
export const projectUpdate = schema({
  type: "object",
  properties: { slug, name, project_types: { type: "array", items: slug, maxItems: 50 } },
  additionalProperties: false,
});

const serviceFields = schemas({
  vendor: nullableText,
  base_url: { type: ["string", "null"], format: "uri", maxLength: 2000 },
  account: nullableText,
  region: { type: ["string", "null"], pattern: "^[a-z0-9-]{1,40}$" },
});

/** A third-party service create. */
export const serviceCreate = schema({
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name, ...serviceFields },
  additionalProperties: false,
});

/** A third-party service update. */
export const serviceUpdate = schema({
  type: "object",
  properties: { name, ...serviceFields },
  additionalProperties: false,
});

const credentialValue = schema({ type: "string", minLength: 1, maxLength: 65536 });

/** A service application create: credentials are write-only. */
export const applicationCreate = schema({
  type: "object",
  required: ["slug", "name"],
  properties: {
    slug,
    name,
    credentials: { type: "object", additionalProperties: credentialValue, default: {} },
  },
  additionalProperties: false,
});

/** A service application update: a credential set to null is removed. */
export const applicationUpdate = schema({
  type: "object",
  properties: {
    name,
    credentials: { type: "object", additionalProperties: { type: ["string", "null"], minLength: 1, maxLength: 65536 } },
  },
  additionalProperties: false,
});

/** A service application as responses show it. */
export const applicationView = schema({
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
});

/** A Plugin node create. */
export const pluginCreate = schema({
  type: "object",
  required: ["slug", "plugin", "label"],
  properties: {
    slug,
    plugin: { ...slug, description: "manifest slug of a loaded entry point" },
    application: { type: ["string", "null"], description: "defaults to the service's only application" },
    label: name,
    options: { type: "object", default: {} },
    enabled: { type: "boolean", default: true },
  },
  additionalProperties: false,
});

/** A Plugin node as responses show it. */
export const pluginView: JsonSchema = {
  type: "object",
  properties: {
    ...pluginCreate.properties,
    id: { type: "string" },
    service: { type: "string" },
    plugin_type: { type: "string", enum: ["configuration", "logs"] },
    status: { type: "string", enum: ["loaded", "not_loaded"] },
    network: { type: "object", properties: { hosts: { type: "array", items: { type: "string" } } } },
  },
};

/** A Plugin node update. */
export const pluginUpdate = schema({
  type: "object",
  properties: {
    application: { type: ["string", "null"] },
    label: name,
    options: { type: "object" },
    enabled: { type: "boolean" },
  },
  additionalProperties: false,
});

/** The bindings of a project type or project (replace all). */
export const bindings = schema({
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
});

/** `POST .../configuration/values`. */
export const configValues = schema({
  type: "object",
  properties: { keys: { type: "array", items: { type: "string", minLength: 1, maxLength: 1024 }, maxItems: 1000 } },
  additionalProperties: false,
});

/** `PUT .../configuration/{key}`. */
export const configPut = schema({
  type: "object",
  required: ["value", "data_type"],
  properties: {
    value: { type: "string", maxLength: 1_048_576 },
    data_type: { type: "string", minLength: 1, maxLength: 100 },
  },
  additionalProperties: false,
});

/** `POST /admin/plugins`. */
export const pluginInstall = schema({
  type: "object",
  properties: {
    catalog: { type: "string", minLength: 1, maxLength: 214 },
    specifier: { type: "string", minLength: 1, maxLength: 500 },
  },
  additionalProperties: false,
});

/** `PATCH /admin/plugins/{package}`. */
export const pluginUpgrade = schema({
  type: "object",
  required: ["version"],
  properties: { version: { type: "string", minLength: 1, maxLength: 100, description: "exact version or range" } },
  additionalProperties: false,
});

/** `POST /admin/plugins/rollback`. */
export const pluginRollback = schema({
  type: "object",
  required: ["revision"],
  properties: { revision: { type: "integer", minimum: 0 } },
  additionalProperties: false,
});

/** Query of the logs endpoints. */
export const logsQuery = schemas({
  start: { type: "string", description: "ISO 8601; default one hour before end" },
  end: { type: "string", description: "ISO 8601; default now" },
  filter: { type: "array", items: { type: "string", pattern: "^[^:]+:(eq|ne|contains|starts_with|regex):" } },
  level: { type: "array", items: { type: "string", pattern: "^[a-z]{1,20}$" } },
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  cursor: { type: "string", maxLength: 4096 },
  source: { type: "string", maxLength: 200 },
  environment: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
});

/** Query shared by tab endpoints. */
export const tabQuery = schemas({ source: logsQuery.source, environment: logsQuery.environment });
