/**
 * Rows as both stores read them, and their mapping to the graph model. A
 * store's query names its columns (or map keys) after these fields; JSON
 * maps travel as text (`options`, `credentials`, SQLite's `project_types`),
 * and SQLite's booleans as 0 or 1.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import type {
  Binding,
  BindingOrigin,
  EffectiveBinding,
  Organization,
  PluginNode,
  Project,
  ProjectType,
  ServiceApplication,
} from "./store.ts";

/** A stored boolean: `true`/`false`, or SQLite's 1/0. */
export type StoredBoolean = boolean | number;

/** A project row; `project_types` is a list, or its JSON text. */
export interface ProjectRow {
  /** Project id. */
  id: string;
  /** Project slug. */
  slug: string;
  /** Display name. */
  name: string;
  /** Project-type slugs, sorted (a JSON array as text in SQLite). */
  project_types: string[] | string;
}

/** An application row; `credentials` is a JSON object of ciphertexts. */
export interface ApplicationRow {
  /** Application slug. */
  slug: string;
  /** Display name. */
  name: string;
  /** JSON text of field name to ciphertext. */
  credentials: string;
}

/** A Plugin node row with its service's and application's slugs. */
export interface PluginRow {
  /** Plugin node id. */
  id: string;
  /** Plugin node slug. */
  slug: string;
  /** Its service's slug. */
  service: string;
  /** Its application's slug, if any. */
  application: string | null | undefined;
  /** Manifest slug. */
  plugin: string;
  /** Plugin type. */
  plugin_type: string;
  /** Display name. */
  label: string;
  /** JSON text of the options. */
  options: string;
  /** Enabled. */
  enabled: StoredBoolean;
}

/** A `USES_PLUGIN` edge row with the id of the Plugin node it points at. */
export interface BindingRow {
  /** The Plugin node's id. */
  plugin_id: string;
  /** The tab. */
  tab: string;
  /** Whether it is the scope's default for the tab. */
  default: StoredBoolean;
  /** The search template. */
  search_template: string | null;
  /** The identity Plugin node's id, if any. */
  identity_plugin_id: string | null | undefined;
}

/**
 * The slug and name of a row, nothing else.
 *
 * @param row A row with at least slug and name.
 * @returns The organization (or project type): slug and name only.
 */
export function slugAndName(row: { slug: string; name: string }): Organization & ProjectType {
  return { slug: row.slug, name: row.name };
}

/**
 * Maps a project row.
 *
 * @param row A project row.
 * @returns The project.
 */
export function toProject(row: ProjectRow): Project {
  const types = typeof row.project_types === "string"
    ? JSON.parse(row.project_types) as string[]
    : [...row.project_types];
  return { id: row.id, slug: row.slug, name: row.name, project_types: types };
}

/**
 * Maps an application row.
 *
 * @param row An application row.
 * @returns The application with its ciphertext credentials.
 */
export function toApplication(row: ApplicationRow): ServiceApplication {
  return { slug: row.slug, name: row.name, credentials: JSON.parse(row.credentials) as Record<string, string> };
}

/**
 * Maps a Plugin node row.
 *
 * @param row A Plugin node row.
 * @returns The Plugin node.
 */
export function toPluginNode(row: PluginRow): PluginNode {
  return {
    id: row.id,
    slug: row.slug,
    service: row.service,
    application: row.application ?? null,
    plugin: row.plugin,
    plugin_type: row.plugin_type as PluginType,
    label: row.label,
    options: JSON.parse(row.options) as Record<string, unknown>,
    enabled: row.enabled === true || row.enabled === 1,
  };
}

/**
 * Maps a binding row.
 *
 * @param row A binding row.
 * @returns The binding.
 */
export function toBinding(row: BindingRow): Binding {
  return {
    plugin_id: row.plugin_id,
    tab: row.tab as PluginType,
    default: row.default === true || row.default === 1,
    search_template: row.search_template ?? "",
    identity_plugin_id: row.identity_plugin_id ?? null,
  };
}

/**
 * An edge of a project or of one of its project types, with its Plugin node.
 *
 * @param row The edge.
 * @param from The project type's slug the edge came from, or null for the project's own edge.
 * @param plugin The Plugin node's row.
 * @returns The edge as {@linkcode EffectiveBinding}.
 */
export function toEdge(row: BindingRow, from: string | null, plugin: PluginRow): EffectiveBinding {
  const origin: BindingOrigin = from === null ? { kind: "project" } : { kind: "project_type", slug: from };
  return { ...toBinding(row), origin, plugin: toPluginNode(plugin) };
}
