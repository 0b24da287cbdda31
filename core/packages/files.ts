/**
 * File-system questions the package store and the container prefetch share.
 *
 * @module
 */

import { join } from "node:path";

/**
 * Whether anything occupies a path (a file, a directory, or a link, even a
 * dangling one): the question to ask before creating or renaming into it.
 *
 * @param path The path.
 * @returns True when `lstat` finds an entry.
 * @throws {Deno.errors.PermissionDenied} And any other error but NotFound.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Reads a JSON file that should hold an object (`package.json`, `deno.json`).
 *
 * @param path The file.
 * @returns The object; undefined when the file is missing or holds something else.
 * @throws {SyntaxError} When the file is not JSON.
 */
export async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const value = JSON.parse(text);
  return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

/**
 * Copies a directory's files and subdirectories (links and other entries are
 * skipped), creating `to`.
 *
 * @param from The directory to copy.
 * @param to Where the copy goes.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}
