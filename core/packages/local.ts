/**
 * Local-path packages (first-party plugins locked by path): what a package
 * directory declares in its `deno.json` or `package.json`, and the
 * specifier the lockfile records for it.
 *
 * @module
 */

import { relative } from "node:path";
import { PackageError } from "../errors.ts";
import { exportsEntry, packageJsonEntry } from "./entry_module.ts";
import { readJsonObject } from "./files.ts";

/** What a local package directory declares. */
export interface LocalPackageMeta {
  /** The `name` of its `deno.json` (preferred) or `package.json`. */
  name: string;
  /** Its exact `version`. */
  version: string;
  /** The module its bundle starts from, `./`-relative. */
  entry: string;
}

const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/**
 * Reads a local package's name, version and entry module: from `deno.json`
 * when it has a name, else from `package.json`.
 *
 * @param dir The package directory (absolute).
 * @param shown How the caller named it, for the error when it does not exist.
 * @returns Name, exact version and entry module.
 * @throws {PackageError} kind `registry` when the directory is missing or declares no name or exact version;
 *   kind `refused` when its entry module is outside it.
 */
export async function readLocalPackage(dir: string, shown: string): Promise<LocalPackageMeta> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(dir);
  } catch {
    throw new PackageError("registry", `"${shown}" is not an npm:/jsr: specifier and no directory ${dir} exists`);
  }
  if (!stat.isDirectory) throw new PackageError("registry", `${dir} is not a directory`);
  const deno = await readJsonObject(`${dir}/deno.json`);
  const pkg = await readJsonObject(`${dir}/package.json`);
  const source = deno && typeof deno.name === "string" ? deno : pkg;
  const file = source === deno ? "deno.json" : "package.json";
  if (!source || typeof source.name !== "string" || source.name === "") {
    throw new PackageError("registry", `The local package at ${dir} has no deno.json or package.json with a name`);
  }
  if (typeof source.version !== "string" || !EXACT_VERSION.test(source.version)) {
    throw new PackageError("registry", `The local package at ${dir} has no exact "version" in its ${file}`);
  }
  const label = `${file} of ${dir}`;
  const entry = source === deno ? exportsEntry(deno.exports, label) : packageJsonEntry(pkg!, label);
  return { name: source.name, version: source.version, entry };
}

/**
 * The specifier the lockfile records for a local package: its path relative
 * to the project root, starting with `./` or `../`.
 *
 * @param projectRoot The lockfile's directory.
 * @param dir The package directory (absolute).
 * @returns `./plugins/aws`, `../elsewhere/pkg`, or `../`.
 */
export function localSpecifier(projectRoot: string, dir: string): string {
  const rel = relative(projectRoot, dir);
  if (rel === "..") return "../";
  return rel.startsWith("../") ? rel : `./${rel}`;
}
