/**
 * The curated plugin catalog (spec section 3): first-party and vetted
 * third-party packages an operator installs by name, versioned with the
 * code in `plugins/catalog.json`.
 *
 * Format:
 *
 * ```json
 * {
 *   "entries": [
 *     {
 *       "name": "aws",
 *       "description": "AWS SSM Parameter Store and CloudWatch Logs",
 *       "specifier": "npm:@imbi/plugin-aws@^1",
 *       "plugin_types": ["configuration", "logs"],
 *       "homepage": "https://github.com/AWeber-Imbi/imbi/tree/main/plugins/aws",
 *       "local_path": "./plugins/aws"
 *     }
 *   ]
 * }
 * ```
 *
 * `specifier` is `npm:` or `jsr:` with a version range, or a local path
 * relative to the catalog file's directory; it is what an install by
 * catalog name resolves. `homepage` and `local_path` are optional;
 * `local_path` says where a first-party package's source lives in this
 * repository (relative to its root), for people who lock it by path with
 * the CLI; it is reported, never installed from implicitly. A bare
 * top-level array of entries is read too.
 *
 * @module
 */

import { resolve } from "node:path";
import { isLocalSpecifier } from "./lockfile.ts";
import { parseRegistrySpecifier } from "./store.ts";
import semver from "semver";

/** One catalog entry. */
export interface CatalogEntry {
  /** What operators install it by: `{"catalog": "<name>"}`. */
  name: string;
  /** Operator help text. */
  description: string;
  /** `npm:name@range`, `jsr:@scope/name@range`, or a local path relative to the catalog file. */
  specifier: string;
  /** The plugin types its entry points provide. */
  plugin_types: string[];
  /** Where to read about it. */
  homepage: string | null;
  /** Where a first-party package's source lives in this repository, as written; informational. */
  local_path: string | null;
}

/** A parsed catalog and where it came from. */
export interface Catalog {
  /** The catalog file (absolute), or null when there is none. */
  path: string | null;
  /** The entries, in file order. */
  entries: CatalogEntry[];
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,213}$/;
const KEYS = new Set(["name", "description", "specifier", "plugin_types", "homepage", "local_path"]);

/**
 * Validates catalog text.
 *
 * @param text The file's content.
 * @param fileName Named in errors.
 * @returns The entries, in file order.
 * @throws {SyntaxError} Naming the file and the JSON pointer of the first bad field.
 */
export function parseCatalog(text: string, fileName: string): CatalogEntry[] {
  const fail = (pointer: string, rule: string): never => {
    throw new SyntaxError(`Invalid catalog ${fileName} at "${pointer}": ${rule}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return fail("", `not JSON (${(error as Error).message})`);
  }
  const list = Array.isArray(raw) ? raw : (raw as { entries?: unknown } | null)?.entries;
  const base = Array.isArray(raw) ? "" : "/entries";
  if (!Array.isArray(list)) return fail("", 'a catalog is {"entries": [...]}');
  const seen = new Set<string>();
  return list.map((item, i): CatalogEntry => {
    const at = (field = "") => `${base}/${i}${field ? `/${field}` : ""}`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) fail(at(), "an entry must be an object");
    const e = item as Record<string, unknown>;
    for (const key of Object.keys(e)) if (!KEYS.has(key)) fail(at(key), `unknown field "${key}"`);
    if (typeof e.name !== "string" || !NAME.test(e.name)) fail(at("name"), `name must match ${NAME.source}`);
    if (seen.has(e.name as string)) fail(at("name"), `name "${e.name}" is listed twice`);
    seen.add(e.name as string);
    if (typeof e.description !== "string") fail(at("description"), "description must be a string");
    if (typeof e.specifier !== "string") fail(at("specifier"), "specifier must be a string");
    const spec = e.specifier as string;
    if (!isLocalSpecifier(spec)) {
      let parsed;
      try {
        parsed = parseRegistrySpecifier(spec);
      } catch (error) {
        fail(at("specifier"), (error as Error).message);
      }
      if (!parsed) fail(at("specifier"), 'specifier must start with "npm:", "jsr:", "./", "../" or "/"');
      if (semver.validRange(parsed!.range) === null) fail(at("specifier"), `"${parsed!.range}" is not a version range`);
    }
    const types = e.plugin_types;
    if (!Array.isArray(types) || types.some((t) => typeof t !== "string")) {
      fail(at("plugin_types"), "plugin_types must be a list of plugin types");
    }
    if (
      e.homepage !== undefined && e.homepage !== null && (typeof e.homepage !== "string" || !URL.canParse(e.homepage))
    ) {
      fail(at("homepage"), "homepage must be a URL");
    }
    if (
      e.local_path !== undefined && e.local_path !== null &&
      (typeof e.local_path !== "string" || !isLocalSpecifier(e.local_path))
    ) {
      fail(at("local_path"), 'local_path must be a path starting with "./", "../" or "/"');
    }
    return {
      name: e.name as string,
      description: e.description as string,
      specifier: spec,
      plugin_types: [...types as string[]],
      homepage: (e.homepage as string | undefined) ?? null,
      local_path: (e.local_path as string | undefined) ?? null,
    };
  });
}

/**
 * Reads the catalog file. A missing file is an empty catalog.
 *
 * @param path The catalog file.
 * @returns The catalog; local specifiers stay as written (see {@linkcode catalogInstallSpecifier}).
 * @throws {SyntaxError} When the file is not a valid catalog.
 */
export async function readCatalog(path: string): Promise<Catalog> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await Deno.readTextFile(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { path: null, entries: [] };
    throw error;
  }
  return { path: absolute, entries: parseCatalog(text, absolute) };
}

/**
 * The specifier to install a catalog entry with: registry specifiers as
 * they are, local paths made absolute against the catalog file's directory.
 *
 * @param catalog The catalog.
 * @param entry One of its entries.
 * @returns A specifier `PackageStore.resolve` accepts.
 */
export function catalogInstallSpecifier(catalog: Catalog, entry: CatalogEntry): string {
  if (!isLocalSpecifier(entry.specifier) || catalog.path === null) return entry.specifier;
  return resolve(catalog.path, "..", entry.specifier);
}

/** The catalog versioned with the code: `plugins/catalog.json` of this repository. */
export const DEFAULT_CATALOG_PATH: string = new URL("../../plugins/catalog.json", import.meta.url).pathname;
