/**
 * JSON Schemas of request and response bodies. Requests are validated with
 * these and `/openapi.json` publishes the same objects.
 *
 * @module
 */

import type { JsonSchema } from "../core/json_schema.ts";
import { SLUG_PATTERN } from "../core/packages/manifest.ts";

const slug: JsonSchema = { type: "string", pattern: SLUG_PATTERN.source, description: "lower-case slug" };
const name: JsonSchema = { type: "string", minLength: 1, maxLength: 200 };
const nullableText: JsonSchema = { type: ["string", "null"], maxLength: 500 };

/** `{items: [...]}` of a list endpoint. */
export function listOf(item: JsonSchema): JsonSchema {
  return { type: "object", required: ["items"], properties: { items: { type: "array", items: item } } };
}

/** Organization and project type bodies. */
export const namedCreate: JsonSchema = {
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name },
  additionalProperties: false,
};

/** Organization and project type updates. */
export const namedUpdate: JsonSchema = {
  type: "object",
  required: ["name"],
  properties: { name },
  additionalProperties: false,
};

/** A project create. */
export const projectCreate: JsonSchema = {
  type: "object",
  required: ["slug", "name"],
  properties: {
    id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$", description: "optional; generated when absent" },
    slug,
    name,
    project_types: { type: "array", items: slug, maxItems: 50, default: [] },
  },
  additionalProperties: false,
};

/** A project update. */
export const projectUpdate: JsonSchema = {
  type: "object",
  properties: { slug, name, project_types: { type: "array", items: slug, maxItems: 50 } },
  additionalProperties: false,
};

const serviceFields = {
  vendor: nullableText,
  base_url: { type: ["string", "null"], format: "uri", maxLength: 2000 },
  account: nullableText,
  region: { type: ["string", "null"], pattern: "^[a-z0-9-]{1,40}$" },
} satisfies Record<string, JsonSchema>;

/** A third-party service create. */
export const serviceCreate: JsonSchema = {
  type: "object",
  required: ["slug", "name"],
  properties: { slug, name, ...serviceFields },
  additionalProperties: false,
};

/** A third-party service update. */
export const serviceUpdate: JsonSchema = {
  type: "object",
  properties: { name, ...serviceFields },
  additionalProperties: false,
};

const credentialValue: JsonSchema = { type: "string", minLength: 1, maxLength: 65536 };

/** A service application create: credentials are write-only. */
export const applicationCreate: JsonSchema = {
  type: "object",
  required: ["slug", "name"],
  properties: {
    slug,
    name,
    credentials: { type: "object", additionalProperties: credentialValue, default: {} },
  },
  additionalProperties: false,
};

/** A service application update: a credential set to null is removed. */
export const applicationUpdate: JsonSchema = {
  type: "object",
  properties: {
    name,
    credentials: { type: "object", additionalProperties: { type: ["string", "null"], minLength: 1, maxLength: 65536 } },
  },
  additionalProperties: false,
};

/** A service application as responses show it. */
export const applicationView: JsonSchema = {
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
};

/** A Plugin node create. */
export const pluginCreate: JsonSchema = {
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
};

/** A Plugin node update. */
export const pluginUpdate: JsonSchema = {
  type: "object",
  properties: {
    application: { type: ["string", "null"] },
    label: name,
    options: { type: "object" },
    enabled: { type: "boolean" },
  },
  additionalProperties: false,
};

/** The bindings of a project type or project (replace all). */
export const bindings: JsonSchema = {
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
};

/** `POST .../configuration/values`. */
export const configValues: JsonSchema = {
  type: "object",
  properties: { keys: { type: "array", items: { type: "string", minLength: 1, maxLength: 1024 }, maxItems: 1000 } },
  additionalProperties: false,
};

/** `PUT .../configuration/{key}`. */
export const configPut: JsonSchema = {
  type: "object",
  required: ["value", "data_type"],
  properties: {
    value: { type: "string", maxLength: 1_048_576 },
    data_type: { type: "string", minLength: 1, maxLength: 100 },
  },
  additionalProperties: false,
};

/** `POST /admin/plugins`. */
export const pluginInstall: JsonSchema = {
  type: "object",
  properties: {
    catalog: { type: "string", minLength: 1, maxLength: 214 },
    specifier: { type: "string", minLength: 1, maxLength: 500 },
  },
  additionalProperties: false,
};

/** `PATCH /admin/plugins/{package}`. */
export const pluginUpgrade: JsonSchema = {
  type: "object",
  required: ["version"],
  properties: { version: { type: "string", minLength: 1, maxLength: 100, description: "exact version or range" } },
  additionalProperties: false,
};

/** `POST /admin/plugins/rollback`. */
export const pluginRollback: JsonSchema = {
  type: "object",
  required: ["revision"],
  properties: { revision: { type: "integer", minimum: 0 } },
  additionalProperties: false,
};

/** Query of the logs endpoints. */
export const logsQuery = {
  start: { type: "string", description: "ISO 8601; default one hour before end" },
  end: { type: "string", description: "ISO 8601; default now" },
  filter: {
    type: "string",
    repeatable: true,
    items: { type: "string", pattern: "^[^:]+:(eq|ne|contains|starts_with|regex):" },
  },
  level: { type: "string", repeatable: true, items: { type: "string", pattern: "^[a-z]{1,20}$" } },
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  cursor: { type: "string", maxLength: 4096 },
  source: { type: "string", maxLength: 200 },
  environment: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
} satisfies Record<string, JsonSchema & { repeatable?: boolean }>;

/** Query shared by tab endpoints. */
export const tabQuery = {
  source: logsQuery.source,
  environment: logsQuery.environment,
} satisfies Record<string, JsonSchema>;

/** Paging query of list endpoints. */
export const pageQuery = {
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  offset: { type: "integer", minimum: 0, default: 0 },
} satisfies Record<string, JsonSchema>;
