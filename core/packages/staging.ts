/**
 * Staging directories of the package store: where a package is unpacked,
 * checked and bundled before it enters the store. They sit outside the data
 * directory (the system's temporary directory by default), so a package's
 * build never runs next to `encryption.keys` or the admin token; a finished
 * one enters the store in one rename, or, from another file system, through
 * a copy into the store's own `.staging` and then one rename.
 *
 * @module
 */

import { dirname } from "node:path";
import { PackageError } from "../errors.ts";
import { copyTree } from "./files.ts";

/**
 * Makes a fresh staging directory and refuses one inside the data directory.
 *
 * @param name A file-name-safe package name, for the directory's prefix.
 * @param options The data directory, and the parent of staging directories (default: the system's temporary one).
 * @returns The staging directory's absolute path.
 * @throws {PackageError} kind `refused` when it would be inside the data directory (e.g. `TMPDIR` points there).
 */
export async function makeStaging(
  name: string,
  options: { dataDir: string; stagingDir?: string | undefined },
): Promise<string> {
  const staging = await Deno.makeTempDir({
    ...(options.stagingDir ? { dir: options.stagingDir } : {}),
    prefix: `imbi-stage-${name}-`,
  });
  const real = await Deno.realPath(staging);
  const data = await Deno.realPath(options.dataDir).catch(() => options.dataDir);
  if (real === data || real.startsWith(`${data}/`)) {
    await Deno.remove(staging, { recursive: true });
    throw new PackageError(
      "refused",
      `Refusing to stage ${name} in ${real}: it is inside the data directory ${data}; ` +
        `set TMPDIR to a directory outside it`,
      { extra: { package: name } },
    );
  }
  return staging;
}

/**
 * Moves a finished staging directory to its store directory, so a store
 * directory is never seen half-written.
 *
 * @param staging The finished staging directory.
 * @param dir The store directory (its parent is the store's root).
 * @throws {Error} When the target exists (another fetch got there first) or the move fails.
 */
export async function moveIntoStore(staging: string, dir: string): Promise<void> {
  const root = dirname(dir);
  await Deno.mkdir(root, { recursive: true });
  try {
    await Deno.rename(staging, dir);
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== "EXDEV") throw error;
  }
  await Deno.mkdir(`${root}/.staging`, { recursive: true });
  await sweepStaging(`${root}/.staging`);
  const incoming = `${root}/.staging/in-${crypto.randomUUID()}`;
  try {
    await copyTree(staging, incoming);
    await Deno.rename(incoming, dir);
  } finally {
    await Deno.remove(incoming, { recursive: true }).catch(() => {});
  }
}

/** Removes what interrupted moves left in `dir` more than an hour ago. */
async function sweepStaging(dir: string): Promise<void> {
  const cutoff = Date.now() - 3_600_000;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.mtime && info.mtime.getTime() < cutoff) await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}
