/**
 * Which module a package's bundle starts from: the `exports` (and `module`,
 * `main`) of a `package.json`, or the `exports` of a `deno.json` or a JSR
 * version meta, always a path inside the package.
 *
 * @module
 */

import { PackageError } from "../errors.ts";

function insidePackage(entry: string, label: string): string {
  const clean = entry.replace(/^\.\//, "");
  if (clean.startsWith("/") || clean.split("/").includes("..") || clean === "") {
    throw new PackageError("refused", `${label} names an entry module outside the package: ${entry}`);
  }
  return `./${clean}`;
}

function pickCondition(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    for (const key of ["deno", "import", "module", "default", "node"]) {
      const found = pickCondition(v[key]);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The entry module a `package.json` names: its `exports` (`.` first, then
 * the conditions `deno`, `import`, `module`, `default`, `node`), else
 * `module`, else `main`, else `index.js`.
 *
 * @param pkg The parsed `package.json`.
 * @param label Names the file in errors (`package.json of npm:x@1.0.0`).
 * @returns A `./`-relative path inside the package.
 * @throws {PackageError} kind `refused` when the path leaves the package.
 */
export function packageJsonEntry(pkg: Record<string, unknown>, label: string): string {
  const exp = pkg.exports;
  let found: string | undefined;
  if (typeof exp === "string") found = exp;
  else if (exp && typeof exp === "object" && !Array.isArray(exp)) {
    const e = exp as Record<string, unknown>;
    found = ("." in e ? pickCondition(e["."]) : pickCondition(e)) || undefined;
  }
  found ??= typeof pkg.module === "string" ? pkg.module : typeof pkg.main === "string" ? pkg.main : "index.js";
  return insidePackage(found, label);
}

/**
 * The entry module of a `deno.json` or JSR `exports` value: the string, or
 * its `"."` key, else `./mod.ts`.
 *
 * @param exports The `exports` value.
 * @param label Names the file in errors.
 * @returns A `./`-relative path inside the package.
 * @throws {PackageError} kind `refused` when the path leaves the package.
 */
export function exportsEntry(exports: unknown, label: string): string {
  let found: string | undefined;
  if (typeof exports === "string") found = exports;
  else if (exports && typeof exports === "object" && !Array.isArray(exports)) {
    const main = (exports as Record<string, unknown>)["."];
    if (typeof main === "string") found = main;
  }
  return insidePackage(found ?? "./mod.ts", label);
}
