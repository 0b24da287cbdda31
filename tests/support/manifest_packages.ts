/**
 * Local plugin packages that are nothing but manifests, written from one
 * table: each entry point is a class with a static manifest (plugin API
 * `^1.0.0`, no network hosts, configuration, unless the table says
 * otherwise), so the packages differ only in what they test. Each package is
 * self-contained (no SDK import), as a third-party package is.
 *
 * | package            | what it tests                                                                     |
 * | ------------------ | --------------------------------------------------------------------------------- |
 * | `clash-a`, `clash-b` | both export slug `clash-slug`                                                   |
 * | `incompatible`     | `api_version` `^2.0.0` against host 1.x                                           |
 * | `invalid-manifest` | one valid entry, one whose `plugin_type` is unknown, one whose options schema does not compile |
 * | `two-entries`      | one package exporting two entry points                                            |
 * | `missing-export`   | a handler class, but no `plugins` export                                          |
 *
 * @module
 */

/** The packages {@linkcode writeManifestPackage} writes. */
export type ManifestPackage =
  | "clash-a"
  | "clash-b"
  | "incompatible"
  | "invalid-manifest"
  | "two-entries"
  | "missing-export";

/** One entry point: its class name, and its manifest's fields that differ from the defaults. */
interface Entry {
  className: string;
  slug: string;
  name: string;
  plugin_type?: string;
  api_version?: string;
  options?: Record<string, unknown>;
  hosts?: string[];
}

/** Each package: its version, its entry points, and whether it forgets the `plugins` export. */
const PACKAGES: Record<ManifestPackage, { version: string; entries: Entry[]; noPluginsExport?: boolean }> = {
  "clash-a": { version: "1.0.0", entries: [{ className: "ClashA", slug: "clash-slug", name: "Clash (package a)" }] },
  "clash-b": {
    version: "1.0.0",
    entries: [
      { className: "ClashB", slug: "clash-slug", name: "Clash (package b)", plugin_type: "logs" },
      { className: "OtherB", slug: "clash-b-other", name: "Not clashing", plugin_type: "logs" },
    ],
  },
  "incompatible": {
    version: "1.0.0",
    entries: [{ className: "FutureConfig", slug: "future-config", name: "Needs plugin API 2", api_version: "^2.0.0" }],
  },
  "invalid-manifest": {
    version: "1.0.0",
    entries: [
      { className: "FineConfig", slug: "fine-config", name: "A valid entry beside an invalid one" },
      { className: "MetricsThing", slug: "metrics-thing", name: "Unknown plugin type", plugin_type: "metrics" },
      {
        className: "TypoOptions",
        slug: "typo-options",
        name: "An options schema with a misspelt keyword",
        options: { type: "object", properties: { endpoint: { type: "string", fromat: "uri" } } },
      },
    ],
  },
  "two-entries": {
    version: "2.1.0",
    entries: [
      { className: "TwoConfig", slug: "two-config", name: "Two: configuration", hosts: ["ssm.{region}.amazonaws.com"] },
      {
        className: "TwoLogs",
        slug: "two-logs",
        name: "Two: logs",
        plugin_type: "logs",
        api_version: ">=1.0.0 <2.0.0",
        hosts: ["logs.{region}.amazonaws.com"],
      },
    ],
  },
  "missing-export": {
    version: "1.0.0",
    entries: [{ className: "Orphan", slug: "orphan-config", name: "Orphan" }],
    noPluginsExport: true,
  },
};

/** A package {@linkcode writeManifestPackage} wrote, ready to lock as a local package. */
export interface WrittenPackage {
  /** `@imbi-test/<name>`. */
  name: string;
  /** Its directory. */
  dir: string;
  /** Its version. */
  version: string;
  /** The slugs of its entry points. */
  entryPoints: string[];
}

/**
 * Writes one package (`deno.json` named `@imbi-test/<name>`, and `mod.ts`) into `dir`.
 *
 * @param name The package.
 * @param dir Its directory (created).
 * @returns What was written.
 */
export async function writeManifestPackage(name: ManifestPackage, dir: string): Promise<WrittenPackage> {
  const { version, entries, noPluginsExport } = PACKAGES[name];
  const classes = entries.map(({ className, slug, name, plugin_type, api_version, options, hosts }) => {
    const manifest = {
      slug,
      name,
      plugin_type: plugin_type ?? "configuration",
      api_version: api_version ?? "^1.0.0",
      ...(options ? { options } : {}),
      network: { hosts: hosts ?? [] },
    };
    return `export class ${className} {\n  static manifest = ${JSON.stringify(manifest)};\n}\n`;
  });
  const plugins = noPluginsExport ? "" : `export const plugins = [${entries.map((e) => e.className).join(", ")}];\n`;
  await Deno.mkdir(dir, { recursive: true });
  const config = { name: `@imbi-test/${name}`, version, exports: "./mod.ts" };
  await Deno.writeTextFile(`${dir}/deno.json`, `${JSON.stringify(config, null, 2)}\n`);
  await Deno.writeTextFile(`${dir}/mod.ts`, [...classes, plugins].join("\n"));
  return { name: config.name, dir, version, entryPoints: noPluginsExport ? [] : entries.map((e) => e.slug) };
}

/** Every manifest package, written into one temporary directory. */
export interface ManifestPackages extends AsyncDisposable {
  /**
   * A package's directory.
   *
   * @param name The package.
   * @returns `<temporary directory>/<name>`.
   */
  dir(name: ManifestPackage): string;
}

/**
 * Writes every manifest package into a new temporary directory, removed
 * when the `await using` scope ends.
 *
 * @returns The packages.
 * @example
 * ```ts
 * await using packages = await manifestPackages();
 * await addPackage(packages.dir("clash-a"), { lockfilePath, store });
 * ```
 */
export async function manifestPackages(): Promise<ManifestPackages> {
  const root = await Deno.makeTempDir({ prefix: "imbi-manifest-packages-" });
  const dir = (name: ManifestPackage) => `${root}/${name}`;
  for (const name of Object.keys(PACKAGES) as ManifestPackage[]) await writeManifestPackage(name, dir(name));
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}
