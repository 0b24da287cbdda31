/**
 * Local plugin packages for the benchmark: copies of the `http-config`
 * fixture under other names and slugs, in a revision that a reload can move
 * to the next one. Private to `bench/`.
 *
 * @module
 */

import type { LocalPackage } from "../tests/support/test_app.ts";
import { ROOT } from "./_processes.ts";

/**
 * Writes `count` packages `@imbi-bench/p00`… into `dir` at `revision` (version `1.0.<revision>`); each exports
 * `bench-pNN` (cacheable) and `bench-pNN-uncached`. Writing another revision changes every package's integrity.
 *
 * @param dir Where the package directories go.
 * @param options How many, and which revision.
 * @returns The packages, for `lockLocalPackages`.
 */
export async function writeBenchPackages(
  dir: string,
  options: { count: number; revision: number },
): Promise<LocalPackage[]> {
  const source = await Deno.readTextFile(`${ROOT}tests/fixtures/http-config/mod.ts`);
  const packages: LocalPackage[] = [];
  for (let i = 0; i < options.count; i++) {
    const id = `p${String(i).padStart(2, "0")}`;
    const slug = `bench-${id}`;
    const version = `1.0.${options.revision}`;
    const path = `${dir}/${id}`;
    await Deno.mkdir(path, { recursive: true });
    await Deno.writeTextFile(
      `${path}/deno.json`,
      JSON.stringify({ name: `@imbi-bench/${id}`, version, exports: "./mod.ts" }, null, 2),
    );
    const code = source.replaceAll('"http-config-uncached"', `"${slug}-uncached"`)
      .replaceAll('"http-config"', `"${slug}"`);
    await Deno.writeTextFile(`${path}/mod.ts`, `${code}\n// revision ${options.revision}\n`);
    packages.push({ name: `@imbi-bench/${id}`, dir: path, version, entryPoints: [slug, `${slug}-uncached`] });
  }
  return packages;
}
