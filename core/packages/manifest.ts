/**
 * Manifest validation and the host's plugin-API version check (spec 2.1).
 *
 * @module
 */

import semver from "semver";
import type { PluginManifest as SdkPluginManifest } from "@imbi/plugin-sdk/types";

import { compileOptionsSchema } from "../validation.ts";

/** A plugin's manifest, as the plugin SDK defines it (`@imbi/plugin-sdk/types`). */
export type PluginManifest = SdkPluginManifest;

/** The host's one plugin-API version. An entry loads only if its range includes it. */
export const PLUGIN_API_VERSION = "1.0.0";

/** Slug rule shared by manifests, services and Plugin nodes. */
export const SLUG_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;

const PLUGIN_TYPES = new Set(["configuration", "logs"]);
const HOST_PATTERN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.{}_-]+)(:(\d{1,5}|\{[a-z_][a-z0-9_]*\}))?$/;

/** Why a manifest was refused: the rule, in words, with where it sits. */
export type ManifestResult =
  | { ok: true; manifest: PluginManifest }
  | { ok: false; status: "invalid" | "incompatible"; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates one entry point's manifest and checks its `api_version` against
 * {@linkcode PLUGIN_API_VERSION}.
 *
 * @param raw The exported `manifest` value, as JSON.
 * @param where The package and entry it came from, named in every reason.
 * @returns The manifest, or a status with a reason naming package, entry and rule.
 * @example
 * ```ts
 * const r = parseManifest(raw, { packageName: "@imbi/plugin-aws", entry: "plugins[0]" });
 * if (!r.ok) console.error(r.reason);
 * ```
 */
export function parseManifest(
  raw: unknown,
  where: { packageName: string; entry: string },
): ManifestResult {
  const label = isObject(raw) && typeof raw.slug === "string" ? `"${raw.slug}"` : where.entry;
  const invalid = (rule: string): ManifestResult => ({
    ok: false,
    status: "invalid",
    reason: `Cannot load plugin ${label} from package "${where.packageName}": ${rule}`,
  });
  if (!isObject(raw)) return invalid("the handler class has no static manifest object");
  const m = raw;
  if (typeof m.slug !== "string" || !SLUG_PATTERN.test(m.slug)) {
    return invalid(`manifest.slug must match ${SLUG_PATTERN.source}`);
  }
  if (typeof m.name !== "string" || m.name.trim() === "") return invalid("manifest.name must be a non-empty string");
  if (m.description !== undefined && typeof m.description !== "string") {
    return invalid("manifest.description must be a string");
  }
  if (typeof m.plugin_type !== "string" || !PLUGIN_TYPES.has(m.plugin_type)) {
    return invalid(`manifest.plugin_type must be "configuration" or "logs", not ${JSON.stringify(m.plugin_type)}`);
  }
  if (typeof m.api_version !== "string" || semver.validRange(m.api_version) === null) {
    return invalid(`manifest.api_version ${JSON.stringify(m.api_version)} is not a semver range`);
  }
  let secretOptions: string[] = [];
  if (m.options !== undefined) {
    const compiled = compileOptionsSchema(m.options);
    if (!compiled.ok) return invalid(`manifest.options does not compile: ${compiled.message}`);
    secretOptions = compiled.schema.secrets;
  }
  const credentialProblem = checkCredentials(m.credentials);
  if (credentialProblem) return invalid(credentialProblem);
  if (!isObject(m.network) || !Array.isArray(m.network.hosts)) {
    return invalid("manifest.network.hosts must be a list of host or host:port strings");
  }
  for (const host of m.network.hosts) {
    if (typeof host !== "string" || !HOST_PATTERN.test(host)) {
      return invalid(`manifest.network.hosts entry ${JSON.stringify(host)} is not a host or host:port`);
    }
    const secret = secretOptions.find((name) => host.includes(`{${name}}`));
    if (secret) {
      return invalid(`manifest.network.hosts entry ${JSON.stringify(host)} names the secret option "${secret}"`);
    }
  }
  if (m.timeout_ms !== undefined && (typeof m.timeout_ms !== "number" || !(m.timeout_ms > 0))) {
    return invalid("manifest.timeout_ms must be a positive number");
  }
  const dataTypeProblem = checkDataTypes(m.data_types, m.plugin_type);
  if (dataTypeProblem) return invalid(dataTypeProblem);
  if (m.hints !== undefined && !isObject(m.hints)) return invalid("manifest.hints must be an object");
  if (m.hints?.cacheable !== undefined && typeof m.hints.cacheable !== "boolean") {
    return invalid("manifest.hints.cacheable must be a boolean");
  }
  const ttl = m.hints?.cache_ttl_ms;
  if (ttl !== undefined && (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1)) {
    return invalid("manifest.hints.cache_ttl_ms must be a whole number of milliseconds, 1 or more");
  }
  const manifest = raw as unknown as PluginManifest;
  if (!semver.satisfies(PLUGIN_API_VERSION, manifest.api_version)) {
    return {
      ok: false,
      status: "incompatible",
      reason: `Cannot load plugin "${manifest.slug}" from package "${where.packageName}": ` +
        `api_version "${manifest.api_version}" does not include ${PLUGIN_API_VERSION}`,
    };
  }
  return { ok: true, manifest };
}

function checkCredentials(credentials: unknown): string | undefined {
  if (credentials === undefined) return undefined;
  if (!Array.isArray(credentials)) return "manifest.credentials must be a list";
  const seen = new Set<string>();
  for (const [i, field] of credentials.entries()) {
    if (!isObject(field) || typeof field.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(field.name)) {
      return `manifest.credentials[${i}].name must be an identifier`;
    }
    if (typeof field.label !== "string") return `manifest.credentials[${i}].label must be a string`;
    for (const flag of ["required", "secret", "multiline"]) {
      if (field[flag] !== undefined && typeof field[flag] !== "boolean") {
        return `manifest.credentials[${i}].${flag} must be a boolean`;
      }
    }
    if (seen.has(field.name)) return `manifest.credentials names "${field.name}" twice`;
    seen.add(field.name);
  }
  return undefined;
}

function checkDataTypes(dataTypes: unknown, pluginType: unknown): string | undefined {
  if (dataTypes === undefined) return undefined;
  if (pluginType !== "configuration") return "manifest.data_types is only for configuration plugins";
  if (!Array.isArray(dataTypes)) return "manifest.data_types must be a list";
  for (const [i, type] of dataTypes.entries()) {
    if (!isObject(type) || typeof type.name !== "string" || typeof type.label !== "string") {
      return `manifest.data_types[${i}] must have a string name and label`;
    }
    if (typeof type.secret !== "boolean") return `manifest.data_types[${i}].secret must be a boolean`;
  }
  return undefined;
}

/** Credential fields with their defaults applied (`required` and `secret` default to true). */
export function credentialFields(
  manifest: PluginManifest,
): { name: string; label: string; required: boolean; secret: boolean; multiline: boolean }[] {
  return (manifest.credentials ?? []).map((f) => ({
    name: f.name,
    label: f.label,
    required: f.required ?? true,
    secret: f.secret ?? true,
    multiline: f.multiline ?? false,
  }));
}

/**
 * The secret options of a manifest: top-level options its schema marks
 * `writeOnly: true`. Stored encrypted, never returned, redacted from answers.
 *
 * @param manifest The handler's manifest.
 * @returns The option names, sorted; none when the schema does not compile.
 */
export function secretOptions(manifest: PluginManifest | undefined): string[] {
  if (!manifest) return [];
  const compiled = compileOptionsSchema(manifest.options);
  return compiled.ok ? compiled.schema.secrets : [];
}
