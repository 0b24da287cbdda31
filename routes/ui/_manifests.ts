/**
 * The manifests of the loaded entry points, read through the admin API, for
 * forms that come from them (credential fields, options schemas).
 *
 * @module
 */

import { must } from "./_api.ts";
import type { Ui } from "./_layout.tsx";
import type { JsonSchema } from "./_schema_form.tsx";

/** A credential field a manifest declares. */
export interface CredentialField {
  /** The name. */
  name: string;
  /** What the operator sees. */
  label?: string;
  /** Required field names (or whether a credential field is required). */
  required?: boolean;
  /** Whether the value is secret (default true). */
  secret?: boolean;
  /** Whether the value spans lines. */
  multiline?: boolean;
}

/** The part of a manifest the forms read. */
export interface Manifest {
  /** The slug. */
  slug: string;
  /** The name. */
  name?: string;
  /** Help text. */
  description?: string;
  /** `configuration` or `logs`. */
  plugin_type?: string;
  /** The SDK range it was built for. */
  api_version?: string;
  /** The options JSON Schema. */
  options?: JsonSchema;
  /** The credential fields it needs. */
  credentials?: CredentialField[];
  /** The hosts it may reach. */
  network?: { hosts?: string[] };
  /** Configuration data types. */
  data_types?: { name: string; label?: string; secret?: boolean }[];
  /** Behaviour hints. */
  hints?: { supports_histogram?: boolean };
}

/**
 * Every loaded entry point's manifest, by slug (empty for a read-only
 * session: the registry is an admin resource, and read sessions get no forms).
 *
 * @param ui The page context.
 * @returns Slug to manifest.
 */
export async function loadedManifests(ui: Ui): Promise<Map<string, Manifest>> {
  const map = new Map<string, Manifest>();
  if (!ui.admin) return map;
  const registry = await must(ui.api("GET", "/admin/plugins"));
  for (const pkg of registry.items as { entries: { status: string; manifest?: Manifest }[] }[]) {
    for (const entry of pkg.entries) {
      if (entry.status === "loaded" && entry.manifest?.slug) map.set(entry.manifest.slug, entry.manifest);
    }
  }
  return map;
}

/**
 * The credential fields the given entry points declare, each once (the first declaration wins).
 *
 * @param manifests Slug to manifest.
 * @param slugs The entry points.
 * @returns The fields.
 */
export function credentialFields(manifests: Map<string, Manifest>, slugs: Iterable<string>): CredentialField[] {
  const fields = new Map<string, CredentialField>();
  for (const slug of slugs) {
    for (const field of manifests.get(slug)?.credentials ?? []) {
      if (!fields.has(field.name)) fields.set(field.name, field);
    }
  }
  return [...fields.values()];
}
